-- Retention (scheduler/retention.py, runtime/retention.py): handled events and events published, by age.
CREATE INDEX inbox_by_age ON inbox (handled_at);
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
