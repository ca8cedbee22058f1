-- One index serves both lookups by address: explain (every outcome of an address; a few rows, sorted
-- in memory) and the per-batch settlement of file duplicates (an address's outcomes within one run,
-- docs/adr/0007), which probes it once per record of each batch.
DROP INDEX record_outcomes_by_email;
CREATE INDEX record_outcomes_by_email ON record_outcomes (email_key, run_id) WHERE email_key IS NOT NULL;
