"""What history prunes, and when (runtime/retention.py runs it; migration 0006 indexes it).

- Per-record outcomes (a row per batch) are the run history people read (``runs records``, ``explain``): kept
  ``keep_outcomes`` (90 days by default) after their run finished. The run's row, its summary, is kept.
- Batches received and supersessions are bookkeeping of a run in progress: once it is final, every later
  event of it is ignored (``handlers._is_final``), so they go ``keep_bookkeeping`` after it finished
  (supersessions are left only by a run that ended before all its batches were in: failed, cancelled).
- The inbox skips redeliveries: a row goes ``keep_bookkeeping`` (7 days by default) after its event was
  handled, far past any redelivery; one that did come later would find its run final, or its batch
  counted (``run_batches``), and change nothing.
- The outbox keeps what it published, for inspection: a sent row goes ``keep_bookkeeping`` after it was
  sent; an unsent one never.

A run still running keeps its outcomes, batches received and supersessions, however old: only runs
with a ``finished_at`` qualify. (Its inbox rows go by age like any: its batches stay counted.)
"""

from __future__ import annotations

from recruit_sync.runtime.retention import Prune
from recruit_sync.runtime.settings import Settings

# Runs are kept, so this lists the runs already pruned too: the most recently finished first, which are
# those with rows left (a pass that finds nothing looks each old run up once, in the primary key).
RUNS_FINISHED_BEFORE = (
    "SELECT run_id FROM runs WHERE state <> 'running' AND finished_at < $1 ORDER BY finished_at DESC"
)


# a batch's outcomes are a thousand records' (up to a few hundred kB): fewer rows per statement
BATCHES_PER_STATEMENT = 100


def prunes(settings: Settings) -> list[Prune]:
    return [
        Prune(
            "batch_outcomes",
            RUNS_FINISHED_BEFORE,
            settings.keep_outcomes,
            by="run_id",
            limit=BATCHES_PER_STATEMENT,
        ),
        Prune("run_batches", RUNS_FINISHED_BEFORE, settings.keep_bookkeeping, by="run_id"),
        Prune("superseded", RUNS_FINISHED_BEFORE, settings.keep_bookkeeping, by="run_id"),
        Prune("inbox", "handled_at < $1", settings.keep_bookkeeping),
        Prune("outbox", "sent_at < $1", settings.keep_bookkeeping),
    ]
