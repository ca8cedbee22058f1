-- The store as each run found it (docs/adr/0020), for `replay RUN_ID --dry-run`: a claim keeps, besides
-- the prior of a record that changed the contact, the facts its email had when the run first read them:
-- the contact with its membership of the run's list, and the suppression registry's reasons.
-- Written for every claim that did not create its contact (a created contact's facts were "nothing");
-- NULL on a claim that did not create it: the claim predates this column, its facts were not kept.
ALTER TABLE run_emails ADD COLUMN found jsonb;
