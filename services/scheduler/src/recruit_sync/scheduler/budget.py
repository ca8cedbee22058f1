"""Daily credit budgets (SPEC 8, ADR 0011): does a run fit a connection's budget now, and if not, when?

The scheduler starts every run and hears every RunCompleted, so it knows each connection's spending:
the credits of each finished run, at the time it finished, over a rolling 24-hour window. Runs still
in flight count with their estimate, as if spent now. A run starts only when the window's spending
plus its own estimate stays within the budget; otherwise it waits until enough spending has left
the window. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from recruit_sync.contracts.resources import WindowKind

WINDOW = timedelta(hours=24)

# A sync that never ran has no cost to go by. Assume a sizeable first import (1 settings call, 16 list
# pages of 200 records, 1 deleted-records pass); capped at the budget, so it never waits for ever.
FIRST_RUN_CREDITS = 1 + 16 * 3 + 1


@dataclass(frozen=True)
class Spend:
    at: datetime
    credits: int


def estimate_credits(
    kind: WindowKind, *, last_full: int | None, last_incremental: int | None, budget: int | None
) -> int:
    """What a run of ``kind`` will cost: what the sync's last successful run of that kind cost.

    An incremental run with none before it is bounded by a full one; a sync that never ran assumes
    FIRST_RUN_CREDITS. Never more than the budget: a run that could never fit would never run.
    """
    last = last_full if kind == "full" or last_incremental is None else last_incremental
    estimate = FIRST_RUN_CREDITS if last is None else last
    return estimate if budget is None else min(estimate, budget)


def spent(spends: Iterable[Spend], now: datetime) -> int:
    """Credits spent in the window that ends at ``now``."""
    return sum(spend.credits for spend in spends if spend.at > now - WINDOW)


def fits_from(budget: int, spends: Iterable[Spend], estimate: int, now: datetime) -> datetime | None:
    """None when a run of ``estimate`` credits fits now; else the first instant it will.

    That instant is when the oldest spends in the window have left it, freeing enough credits.
    """
    if estimate > budget:
        raise ValueError(f"an estimate of {estimate} credits can never fit a budget of {budget}")
    in_window = sorted((spend for spend in spends if spend.at > now - WINDOW), key=lambda spend: spend.at)
    total = sum(spend.credits for spend in in_window)
    if total + estimate <= budget:
        return None
    for spend in in_window:
        total -= spend.credits
        if total + estimate <= budget:
            return spend.at + WINDOW
    raise AssertionError("unreachable: an empty window fits any estimate within the budget")
