"""What the importer prunes, and when (runtime/retention.py runs it; migration 0005 indexes it).

A run's claims (``run_emails``, with the facts the run found: docs/adr/0020) and its imported batches
are what ``replay RUN_ID --dry-run`` re-decides the run's journaled batches against, so they are kept at
least as long as the journal keeps events (``RECRUIT_SYNC_JOURNAL_MAX_AGE``), and longer if
``keep_bookkeeping`` says so.

The importer does not learn when a run ends (history does), so a run counts as over when its newest
imported batch is older than that: its rows then go together, never some of a run still importing. A
run silent that long (7 days by default) has long been failed by history's stall deadline.

Dropping an imported batch of such a run is safe although it is what makes a redelivered batch
idempotent: a batch's message is acknowledged once it is imported and its BatchImported published, and
a redelivery (a crash before the acknowledgement) comes within seconds or minutes, not days. The one copy
that can outlive that is a batch whose import committed but whose BatchImported could not be published
up to the queue's delivery limit, dead-lettered, and put back by hand (``dlq retry``) more than that age
later: it would be imported again against the store as it is then, and history, for which its run is
final, would ignore its outcomes.

Claims go first: the imported batches are what say which runs are over, and the cutoff is the same for
the whole pass, so no run loses its batches while it still has claims.
"""

from __future__ import annotations

from recruit_sync.runtime.retention import Prune, journal_keeps
from recruit_sync.runtime.settings import Settings

RUNS_OVER = "SELECT run_id FROM imported_batches GROUP BY run_id HAVING max(occurred_at) < $1"
# an imported batch carries its outcomes (a thousand, as JSON): fewer rows per statement
BATCHES_PER_STATEMENT = 100


def prunes(settings: Settings) -> list[Prune]:
    keep = max(settings.keep_bookkeeping, journal_keeps(settings.journal_retention))
    return [
        Prune("run_emails", RUNS_OVER, keep, by="run_id"),
        Prune("imported_batches", RUNS_OVER, keep, by="run_id", limit=BATCHES_PER_STATEMENT),
    ]
