-- A run's claim on an email whose contact the run itself created (every record of a first import) is
-- kept on the contact's own row, written by the same insert, instead of in a `run_emails` row of its
-- own: a claim row and its index entry cost PostgreSQL as much as the contact itself (docs/adr/0028).
-- `run_emails` keeps every other claim (on a contact that existed, a deletion, a takeover), and a
-- `run_emails` row, when there is one, is the run's claim whatever the contact row says.
-- The columns are written only when the contact is inserted, never when an upsert updates it.
ALTER TABLE contacts
    ADD COLUMN created_run text COLLATE "C",  -- the run whose claim created the contact
    ADD COLUMN created_record_id text,        -- that claim: its record, modified time, batch, position
    ADD COLUMN created_modified_at timestamptz,
    ADD COLUMN created_seq integer,
    ADD COLUMN created_position integer;
-- `replay --dry-run` finds the emails a run created (docs/adr/0020). A run's contacts share one key
-- value and are inserted in heap order, so each insert lands on the index's last page of that value
-- (deduplicated: a few bytes per contact).
CREATE INDEX contacts_created_by_run ON contacts (created_run) WHERE created_run IS NOT NULL;
