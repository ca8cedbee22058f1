-- Alerts (issue 12; scheduler/alerts.py, scheduler/notify.py).
-- alert_state: the conditions each alert target has been notified of and that still hold (a row each);
-- notifications: an outbox of its own, written in the transaction that completes the run, delivered by
-- the scheduler's notification loop with retries (attempts, last error, delivered or given up).
ALTER TABLE syncs ADD COLUMN last_success_total integer;   -- the previous successful run's total
-- webhook URL -> its signing secret (Fernet, runtime.crypto); the spec never holds it
ALTER TABLE syncs ADD COLUMN alert_secrets jsonb NOT NULL DEFAULT '{}';

CREATE TABLE alert_state (
    sync_id uuid NOT NULL REFERENCES syncs (id),
    target  text NOT NULL,      -- the webhook's URL or the email's addresses
    event   text NOT NULL,      -- run_failed | ignored_above | volume_drop
    PRIMARY KEY (sync_id, target, event)
);

CREATE TABLE notifications (
    id              bigserial PRIMARY KEY,
    sync_id         uuid NOT NULL REFERENCES syncs (id),
    run_id          text,
    event           text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('webhook', 'email')),
    target          text NOT NULL,  -- URL or addresses, as shown; never the secret
    secret_enc      text,           -- the webhook's signing secret (Fernet, runtime.crypto)
    payload         jsonb NOT NULL, -- {"sync_id", "sync_name", "event", "run_id", "at", "detail"}
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    delivered_at    timestamptz,
    gave_up_at      timestamptz
);

CREATE INDEX notifications_due ON notifications (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX notifications_by_sync ON notifications (sync_id, id DESC);
CREATE INDEX notifications_finished ON notifications (created_at)
    WHERE delivered_at IS NOT NULL OR gave_up_at IS NOT NULL;   -- retention.py
