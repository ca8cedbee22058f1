-- Each list counts the batches applied to it (`version`) and names the last one's writer (a uuid per
-- attempt), both changed under the list's lock. A batch reads its facts and decides *ahead*, while the
-- batch before it holds the lock; once it holds the lock itself, the version tells it whether any batch
-- of the list was applied since it read, and which (docs/adr/0025).
ALTER TABLE lists ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE lists ADD COLUMN writer uuid;
