-- Daily credit budgets (ADR 0011): each finished run's credits, kept a little longer than the rolling
-- 24-hour window they count in; each sync's last run costs, the estimate of its next run; what each run
-- in flight has reserved; and until when a sync's due run waits for credits to free up.

CREATE TABLE credit_spend (
    run_id        text PRIMARY KEY,
    connection_id uuid NOT NULL REFERENCES connections (id),
    credits       integer NOT NULL CHECK (credits >= 0),
    spent_at      timestamptz NOT NULL
);

CREATE INDEX credit_spend_window ON credit_spend (connection_id, spent_at);

ALTER TABLE syncs
    ADD COLUMN last_full_credits        integer,
    ADD COLUMN last_incremental_credits integer,
    ADD COLUMN credit_wait_until        timestamptz;   -- set while its due run waits for the budget

ALTER TABLE runs_in_flight
    ADD COLUMN estimated_credits integer NOT NULL DEFAULT 0;
