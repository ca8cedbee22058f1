-- Retention (importer/store/retention.py, runtime/retention.py): a run's claims go together, once its
-- last batch is older than the age kept; the primary key (email_key, run_id) cannot find one run's rows.
-- The one secondary index on run_emails, against the rule of 0001, because without it every pruning
-- statement would scan the whole table. Its cost, measured on 1000-row claim inserts interleaved with and
-- without it: that statement 5-13% slower, about 2-4% of a batch's import. `replay --dry-run` seeds its
-- scratch with one run's claims (store/scratch.py `seed_as_found`), which now reads them through it too.
CREATE INDEX run_emails_by_run ON run_emails (run_id);
