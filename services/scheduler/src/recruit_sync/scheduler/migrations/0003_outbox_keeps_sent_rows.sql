-- The outbox now follows runtime.outbox: rows are marked sent instead of deleted.
ALTER TABLE outbox ADD COLUMN sent_at timestamptz;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
