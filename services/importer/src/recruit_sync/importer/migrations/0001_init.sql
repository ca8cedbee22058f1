-- The contact store (SPEC section 1): contacts, mailing lists, memberships, the suppression registry,
-- plus the importer's own bookkeeping (record links, per-run email state, processed batches).
-- Runs with search_path = importer.

-- A contact's identity is its email key (the normalised address, lower-cased). It never changes, so it
-- is the primary key and every other table refers to it directly: batches write all their rows in
-- parallel statements without first fetching generated ids.
CREATE TABLE contacts (
    email_key  text PRIMARY KEY,
    email      text NOT NULL,              -- as given, normalised (domain lower-cased)
    first_name text,
    last_name  text,
    fields     jsonb NOT NULL DEFAULT '{}', -- mapped custom contact fields
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz                 -- soft delete; a later import is a re-add
);

CREATE TABLE lists (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- No foreign keys on the per-record tables: contacts are never hard-deleted, lists never deleted, and
-- the per-row FK triggers would cost a fifth of the import rate.
CREATE TABLE memberships (
    list_id          bigint NOT NULL,
    email_key        text NOT NULL,
    sync_id          text NOT NULL,           -- the sync that added it
    record_id        text,                    -- the Recruit record that added it
    added_at         timestamptz NOT NULL DEFAULT now(),
    settings_version integer NOT NULL,        -- for "options take effect from when they are enabled"
    -- email first: a batch looks up its contacts' memberships, remove_from_org drops all of a contact's
    PRIMARY KEY (email_key, list_id)
);
-- a second text index would cost a tenth of the import rate; one on the integer list id is cheap
CREATE INDEX memberships_list ON memberships (list_id);

-- Recruit's deleted-records endpoint names records, not emails: this maps them back to contacts.
CREATE TABLE record_links (
    module    text NOT NULL,
    record_id text NOT NULL,
    email_key text NOT NULL,
    PRIMARY KEY (module, record_id)
);

CREATE TABLE suppressions (
    email_key  text NOT NULL,
    email      text NOT NULL,
    reason     text NOT NULL CHECK (reason IN ('bounced', 'do_not_mail')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email_key, reason)
);
CREATE INDEX suppressions_reason ON suppressions (reason, email_key);

-- Emails already placed in a run (file duplicates), with the record that placed them and its
-- modification time, so the winner can later be chosen by Updated_On whatever the batch order.
CREATE TABLE run_emails (
    run_id      text NOT NULL,
    email_key   text NOT NULL,
    record_id   text NOT NULL,
    modified_at timestamptz,
    seq         integer NOT NULL,
    PRIMARY KEY (run_id, email_key)
);

-- Batches already imported, written in the same transaction as their effects: a redelivered batch
-- changes nothing and republishes this BatchImported unchanged.
CREATE TABLE imported_batches (
    run_id       text NOT NULL,
    seq          integer NOT NULL,
    sync_id      text NOT NULL,
    event_id     uuid NOT NULL,
    causation_id text,
    occurred_at  timestamptz NOT NULL,
    outcomes     jsonb NOT NULL,
    PRIMARY KEY (run_id, seq)
);
