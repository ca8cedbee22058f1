-- The outbox now follows runtime.outbox: unsent rows are published in insertion order (id).
ALTER TABLE outbox ADD COLUMN id bigserial;
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
