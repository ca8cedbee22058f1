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

-- Index design: a batch probes its thousand-odd email keys / record ids one primary-key lookup each
-- (store.read_facts), so every primary key leads with that column and the low-cardinality one (list,
-- module, run, reason) comes second. No secondary indexes: each would slow every import, and an index
-- leading with list_id invites the planner, on tables not analysed yet, to scan a whole list per batch.
-- Whole-list reads (list members, the suppression registry) are admin calls and scan.
--
-- No foreign keys on the per-record tables: contacts are never hard-deleted, lists never deleted, and
-- per-row FK checks would slow every import.
CREATE TABLE memberships (
    list_id          bigint NOT NULL,
    email_key        text NOT NULL,
    sync_id          text NOT NULL,           -- the sync that added it
    record_id        text,                    -- the Recruit record that added it
    added_at         timestamptz NOT NULL DEFAULT now(),
    settings_version integer NOT NULL,        -- for "options take effect from when they are enabled"
    PRIMARY KEY (email_key, list_id)
);

-- Recruit's deleted-records endpoint names records, not emails: this maps them back to contacts.
CREATE TABLE record_links (
    record_id text NOT NULL,
    module    text NOT NULL,
    email_key text NOT NULL,
    PRIMARY KEY (record_id, module)
);

CREATE TABLE suppressions (
    email_key  text NOT NULL,
    email      text NOT NULL,
    reason     text NOT NULL CHECK (reason IN ('bounced', 'do_not_mail')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (email_key, reason)
);

-- Emails a run has seen past checks 1-3 (SPEC 5; later ones are file duplicates), with the record that
-- came first and its modification time, so the winner can later be chosen by Updated_On whatever the
-- batch order. Rows of finished runs are dead weight; pruning them is left to a later change.
CREATE TABLE run_emails (
    email_key   text NOT NULL,
    run_id      text NOT NULL,
    record_id   text NOT NULL,
    modified_at timestamptz,
    seq         integer NOT NULL,
    PRIMARY KEY (email_key, run_id)
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
