-- run_emails becomes the run's claims on emails (docs/adr/0007): the record that holds each email so
-- far (the most recently modified one) and the contact as the run found it, so a more recent record
-- arriving in a later batch is decided against that. record_id / modified_at / seq now name the
-- current holder, not the first record seen. (Claims of runs in flight during the upgrade read as
-- "changed nothing": a takeover in such a run is decided against the contact as it is.)
ALTER TABLE run_emails
    ADD COLUMN deletion boolean NOT NULL DEFAULT false,  -- held by a record Recruit reported deleted
    ADD COLUMN created  boolean NOT NULL DEFAULT false,  -- the run created the contact (no prior)
    ADD COLUMN prior    jsonb;  -- the contact and memberships the holder changed; null: it changed nothing
