-- A run's claims keyed by (run_id, email_key), in place of (email_key, run_id) and the index by run of
-- 0005: every statement on run_emails names the run (a batch's facts and writes, `replay --dry-run`'s
-- seeding, retention), so one index serves them all, and a claim costs one index entry instead of two.
ALTER TABLE run_emails DROP CONSTRAINT run_emails_pkey;
ALTER TABLE run_emails ADD PRIMARY KEY (run_id, email_key);
DROP INDEX run_emails_by_run;
