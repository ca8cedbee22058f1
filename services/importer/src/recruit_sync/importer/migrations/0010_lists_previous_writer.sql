-- A batch takes its list's turn in one statement (`lists.take_turn`, docs/adr/0030): the list's lock,
-- the list's row updated (version and writer), and whether the batch was imported already. The writer
-- before it is kept here: an UPDATE in PostgreSQL 15 cannot return a column's old value.
ALTER TABLE lists ADD COLUMN previous_writer uuid;
