"""Every deterministic id of the pipeline, in one place.

A redelivery, a retry or a second replica producing "the same" event must produce the same id, so that
consumers' inboxes skip it. Each id is derived from what identifies the thing it names: a scheduled run
from (sync, due time), a batch from (run, seq), a run's one-off events from the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

_NAMESPACE = uuid.UUID("6f1c4f52-2c1e-4f57-9d3b-6a1f0a7d2b10")


def deterministic_id(*parts: object) -> uuid.UUID:
    """A UUID that is the same every time for the same parts: redeliveries and retries collide."""
    return uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts))


def run_id_for_schedule(sync_id: str, due_at: datetime) -> str:
    """Two scheduler replicas emitting the same due run collide on its id."""
    return str(deterministic_id("run", sync_id, due_at.isoformat()))


def _once_per_run(kind: str) -> Callable[[str], uuid.UUID]:
    def event_id(run_id: str) -> uuid.UUID:
        return deterministic_id(kind, run_id)

    return event_id


# A run's one-off events: the same id whoever emits them, however often.
sync_due_id = _once_per_run("sync-due")
fetch_completed_id = _once_per_run("fetch-completed")
fetch_failed_id = _once_per_run("fetch-failed")
run_completed_id = _once_per_run("run-completed")


# A batch's events: identity (run, seq); a re-import of a batch republishes the same event.
def record_batch_id(run_id: str, seq: int) -> uuid.UUID:
    return deterministic_id("record-batch", run_id, seq)


def batch_imported_id(run_id: str, seq: int) -> uuid.UUID:
    return deterministic_id("batch-imported", run_id, seq)
