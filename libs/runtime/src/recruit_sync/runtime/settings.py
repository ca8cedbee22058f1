"""Configuration from environment variables, with this machine's local services as defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from recruit_sync.runtime.journal import Retention

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/recruit_sync"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_API_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    database_url: str
    amqp_url: str
    api_url: str
    batch_size: int
    prefetch: int
    scheduler_tick_seconds: float
    retrieval_max_age_days: int
    journal_retention: Retention = field(default_factory=Retention)
    # retention (runtime.retention): per-record outcomes, and bookkeeping (inbox, outbox, claims, batches)
    keep_outcomes: timedelta = timedelta(days=90)
    keep_bookkeeping: timedelta = timedelta(days=7)
    prune_interval_seconds: float = 600.0
    # runs side by side (docs/adr/0023): flow control per run, and what a fetcher and an importer hold
    batches_ahead: int = 4  # 8,000 records of a run at 2,000 a batch: one read ahead, the rest slack
    flow_patience_seconds: float = 60.0  # without an import this long, a waiting run's window opens
    fetch_concurrency: int = 8  # runs one fetcher process fetches at once
    importer_prefetch: int = 16  # record batches one importer process holds (its lists take turns)
    # the BatchImported version importers publish: 2 while history processes of a release before 3 may
    # still read them (a rolling upgrade, docs/scaling.md), else 3
    batch_imported_version: int = 3

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            amqp_url=env.get("AMQP_URL", DEFAULT_AMQP_URL),
            api_url=env.get("RECRUIT_SYNC_API", DEFAULT_API_URL),
            batch_size=int(env.get("RECRUIT_SYNC_BATCH_SIZE", "2000")),
            prefetch=int(env.get("RECRUIT_SYNC_PREFETCH", "4")),
            scheduler_tick_seconds=float(env.get("RECRUIT_SYNC_SCHEDULER_TICK", "5")),
            retrieval_max_age_days=int(env.get("RECRUIT_SYNC_RETRIEVAL_MAX_AGE_DAYS", "30")),
            journal_retention=Retention.from_env(),
            keep_outcomes=_days(env, "RECRUIT_SYNC_KEEP_OUTCOMES_DAYS", "90"),
            keep_bookkeeping=_days(env, "RECRUIT_SYNC_KEEP_BOOKKEEPING_DAYS", "7"),
            prune_interval_seconds=float(env.get("RECRUIT_SYNC_PRUNE_INTERVAL", "600")),
            batches_ahead=_batches_ahead(env),
            flow_patience_seconds=float(env.get("RECRUIT_SYNC_FLOW_PATIENCE_SECONDS", "60")),
            fetch_concurrency=int(env.get("RECRUIT_SYNC_FETCH_CONCURRENCY", "8")),
            importer_prefetch=int(env.get("RECRUIT_SYNC_IMPORTER_PREFETCH", "16")),
            batch_imported_version=_batch_imported_version(env),
        )


def _batches_ahead(env: Mapping[str, str]) -> int:
    """``RECRUIT_SYNC_BATCHES_AHEAD``: batches a run's fetch may be ahead of its import (0: no bound)."""
    value = int(env.get("RECRUIT_SYNC_BATCHES_AHEAD", "4"))
    if value < 0:
        raise ValueError(f"RECRUIT_SYNC_BATCHES_AHEAD must be 0 (no bound) or more, not {value}")
    return value


def _batch_imported_version(env: Mapping[str, str]) -> int:
    """``RECRUIT_SYNC_BATCH_IMPORTED_VERSION``: 3 (outcomes in columns), or 2 during an upgrade."""
    value = env.get("RECRUIT_SYNC_BATCH_IMPORTED_VERSION", "3")
    if value not in ("2", "3"):
        raise ValueError(f"RECRUIT_SYNC_BATCH_IMPORTED_VERSION must be 2 or 3, not {value!r}")
    return int(value)


def _days(env: Mapping[str, str], name: str, default: str) -> timedelta:
    """A positive number of days (fractions allowed: ``0.5`` is twelve hours)."""
    value = env.get(name, default)
    try:
        days = float(value)
    except ValueError:
        days = 0.0
    if not days > 0:
        raise ValueError(f"{name} {value!r}: a positive number of days")
    return timedelta(days=days)
