-- A run's last progress: set when its row is created and each time history applies one of its events.
-- A running run without progress for RECRUIT_SYNC_RUN_STALL_SECONDS is failed by the watch loop
-- (history/stalls.py). Runs already running when this is applied count from now.
ALTER TABLE runs ADD COLUMN progressed_at timestamptz NOT NULL DEFAULT now();

-- the watch loop's look: running runs, least recently progressed first
CREATE INDEX runs_running_by_progress ON runs (progressed_at) WHERE state = 'running';
