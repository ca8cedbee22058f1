"""Answers the API puts together from more than one service (every other answer is an operation's own)."""

from __future__ import annotations

from recruit_sync.contracts.events import RunSummary
from recruit_sync.contracts.resources import SyncDetail


class SyncWithRuns(SyncDetail):
    """``sync show --json``: the scheduler's detail view plus history's runs of the sync, newest first."""

    runs: list[RunSummary]
    last_run: RunSummary | None

    @classmethod
    def of(cls, sync: SyncDetail, runs: list[RunSummary]) -> SyncWithRuns:
        return cls(**dict(sync), runs=runs, last_run=runs[0] if runs else None)
