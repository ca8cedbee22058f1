-- The inbox now follows runtime.inbox: each handled event's type, and when it was handled.
ALTER TABLE inbox ADD COLUMN event_type text;
ALTER TABLE inbox RENAME COLUMN processed_at TO handled_at;

-- SyncDeactivated is gone from the contracts (it had no consumer): the relay could not read an unsent
-- one, and every event queued after it would wait behind it.
DELETE FROM outbox WHERE routing_key = 'sync.deactivated';
