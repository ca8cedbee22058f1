-- The scheduler's own tables (schema "scheduler"): connections, syncs and their settings history,
-- favourite mappings, the runs in flight, and the outbox/inbox that make its events exactly-once in effect.

CREATE TABLE connections (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL UNIQUE,
    base_url            text NOT NULL,
    accounts_url        text NOT NULL,
    client_id           text NOT NULL,
    client_secret_enc   text NOT NULL,          -- Fernet (runtime.crypto); never decrypted here
    refresh_token_enc   text NOT NULL,
    primary_email       text,
    daily_credit_budget integer CHECK (daily_credit_budget > 0),
    credentials_version integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE syncs (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                    text NOT NULL UNIQUE,
    connection_id           uuid NOT NULL REFERENCES connections (id),
    spec                    jsonb NOT NULL,     -- the SyncSpec as in the file (by alias, defaults filled)
    state                   text NOT NULL CHECK (state IN ('active', 'inactive', 'paused', 'completed')),
    state_reason            text,
    settings_version        integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL,
    next_due_at             timestamptz,
    last_retrieval_at       timestamptz,
    last_retrieval_kind     text CHECK (last_retrieval_kind IN ('full', 'incremental')),
    last_success_started_at timestamptz,        -- the watermark incremental runs read from
    options_enabled_at      jsonb NOT NULL DEFAULT '{}'   -- option -> ISO time it took effect
);

CREATE INDEX syncs_due ON syncs (next_due_at) WHERE state = 'active';
CREATE INDEX syncs_connection ON syncs (connection_id);

CREATE TABLE sync_versions (
    sync_id    uuid NOT NULL REFERENCES syncs (id),
    version    integer NOT NULL,
    spec       jsonb NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (sync_id, version)
);

CREATE TABLE favourites (
    name     text PRIMARY KEY,
    mapping  jsonb NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now()
);

-- "Never two runs of one sync at once": the primary key is the guard.
CREATE TABLE runs_in_flight (
    sync_id             uuid PRIMARY KEY REFERENCES syncs (id),
    run_id              text NOT NULL UNIQUE,
    trigger             text NOT NULL,
    window_kind         text NOT NULL CHECK (window_kind IN ('full', 'incremental')),
    credentials_version integer NOT NULL,       -- an auth failure with superseded credentials is stale
    started_at          timestamptz NOT NULL
);

-- Events written in the same transaction as the change they announce; the relay publishes and deletes.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    routing_key text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Events this service has handled (RunCompleted), recorded with their effects to skip redeliveries.
CREATE TABLE inbox (
    event_id     uuid PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
