-- Retention (history/store/retention.py, runtime/retention.py): what the pruning loop looks rows up by.
-- Per-record outcomes, batches received and supersessions go by run (their primary keys lead with
-- run_id), once the run finished long enough ago: the finished runs, oldest first.
CREATE INDEX runs_finished ON runs (finished_at) WHERE state <> 'running';
-- handled events, and events published, by age
CREATE INDEX inbox_by_age ON inbox (handled_at);
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
