"""What the scheduler prunes, and when (runtime/retention.py runs it; migration 0005 indexes it).

- The inbox skips a redelivered ``RunCompleted``: a row goes ``keep_bookkeeping`` (7 days by default)
  after its event was handled, far past any redelivery. One that still came would clear no run in
  flight (its run is long gone), book credits spent a week ago (forgotten at once: they no longer count)
  and move no watermark backwards.
- The outbox keeps what it published, for inspection: a sent row goes ``keep_bookkeeping`` after it was
  sent; an unsent one never.
- Credit spends count in a rolling 24-hour window (ADR 0011); finishing a run already forgets its own
  connection's older ones, this forgets those of connections that run no more.
- Alert notifications delivered or given up go ``keep_outcomes`` after they were written; a pending one
  never.
"""

from __future__ import annotations

from recruit_sync.runtime.retention import Prune
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler import budget

FINISHED_NOTIFICATION = "(delivered_at IS NOT NULL OR gave_up_at IS NOT NULL)"


def prunes(settings: Settings) -> list[Prune]:
    return [
        Prune("inbox", "handled_at < $1", settings.keep_bookkeeping),
        Prune("outbox", "sent_at < $1", settings.keep_bookkeeping),
        Prune("credit_spend", "spent_at < $1", 2 * budget.WINDOW),
        # alert notifications delivered or given up, as long as a run's per-record outcomes (0007)
        Prune("notifications", f"created_at < $1 AND {FINISHED_NOTIFICATION}", settings.keep_outcomes),
    ]
