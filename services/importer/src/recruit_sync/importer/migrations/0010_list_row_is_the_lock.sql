-- A batch's turn on its list is the list's row lock, taken by the statement that advances the list's
-- version (docs/adr/0030), instead of an advisory lock taken before it: one round trip fewer under the
-- lock. That statement also names the writer before it, kept here, as an UPDATE in PostgreSQL 15
-- cannot return a column's old value.
ALTER TABLE lists ADD COLUMN previous_writer uuid;
