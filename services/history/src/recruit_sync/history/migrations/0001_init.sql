-- history: runs, their per-record outcomes, and what this consumer has already handled.
-- Runs with search_path = history.

-- One row per run, created by whichever of its events arrives first (they may come in any order).
-- The counts are running totals over the batches received so far; batch_count is null until
-- FetchCompleted says how many batches the run has.
CREATE TABLE runs (
    run_id            text PRIMARY KEY,
    sync_id           text,
    state             text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed')),
    trigger           text CHECK (trigger IN ('schedule', 'manual', 'full_resync')),
    started_at        timestamptz,
    finished_at       timestamptz,
    batch_count       integer,
    batches_received  integer NOT NULL DEFAULT 0,
    fetched_records   integer,
    fetched_deleted   integer,
    total             integer NOT NULL DEFAULT 0,
    new               integer NOT NULL DEFAULT 0,
    re_added          integer NOT NULL DEFAULT 0,
    duplicate         integer NOT NULL DEFAULT 0,
    updated           integer NOT NULL DEFAULT 0,
    unchanged         integer NOT NULL DEFAULT 0,
    ignored           integer NOT NULL DEFAULT 0,
    ignored_by_reason jsonb NOT NULL DEFAULT '{}',
    deleted           integer NOT NULL DEFAULT 0,
    api_calls         integer NOT NULL DEFAULT 0,
    credits           integer NOT NULL DEFAULT 0,
    error             text,
    auth_failed       boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- runs.list: a sync's runs, newest first
CREATE INDEX runs_by_sync ON runs (sync_id, (coalesce(started_at, created_at)) DESC);

-- The batches already applied: a redelivered or re-imported batch (run_id, seq) counts once.
CREATE TABLE run_batches (
    run_id       text NOT NULL REFERENCES runs (run_id),
    seq          integer NOT NULL,
    record_count integer NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq)
);

-- One row per record outcome, written with COPY. position = the record's index in its batch,
-- so (seq, position) is the order the fetcher saw the records in.
CREATE TABLE record_outcomes (
    run_id    text NOT NULL,
    seq       integer NOT NULL,
    position  integer NOT NULL,
    record_id text,
    email     text,
    email_key text,
    outcome   text NOT NULL
              CHECK (outcome IN ('new', 're_added', 'duplicate', 'updated', 'unchanged', 'ignored', 'deleted')),
    reason    text,
    at        timestamptz NOT NULL,
    PRIMARY KEY (run_id, seq, position)
);

-- runs.records with an outcome filter, already in (seq, position) order
CREATE INDEX record_outcomes_by_run_outcome ON record_outcomes (run_id, outcome, seq, position);
-- explain: every outcome of one address, newest first
CREATE INDEX record_outcomes_by_email ON record_outcomes (email_key, at DESC) WHERE email_key IS NOT NULL;

-- Events already handled (idempotent consumer), written in the same transaction as their effects.
CREATE TABLE inbox (
    event_id   uuid PRIMARY KEY,
    event_type text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now()
);

-- RunCompleted events written with the run's final state, published after commit by the relay.
CREATE TABLE outbox (
    event_id    uuid PRIMARY KEY,
    routing_key text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);

CREATE INDEX outbox_unsent ON outbox (created_at) WHERE sent_at IS NULL;
