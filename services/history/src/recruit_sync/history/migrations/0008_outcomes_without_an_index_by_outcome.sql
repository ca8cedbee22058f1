-- Per-record outcomes lose the index (run_id, outcome, seq, position): `runs records RUN --outcome X`
-- reads the run's rows in order through the primary key (run_id, seq, position) and filters them, which
-- costs at most one pass over one run's rows, while the index cost every outcome written a third of
-- its insert (a COPY of 1,000 outcomes: three index entries each, now two).
DROP INDEX record_outcomes_by_run_outcome;
