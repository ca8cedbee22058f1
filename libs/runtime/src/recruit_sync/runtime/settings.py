"""Configuration from environment variables, with this machine's local services as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

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

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            amqp_url=env.get("AMQP_URL", DEFAULT_AMQP_URL),
            api_url=env.get("RECRUIT_SYNC_API", DEFAULT_API_URL),
            batch_size=int(env.get("RECRUIT_SYNC_BATCH_SIZE", "1000")),
            prefetch=int(env.get("RECRUIT_SYNC_PREFETCH", "4")),
            scheduler_tick_seconds=float(env.get("RECRUIT_SYNC_SCHEDULER_TICK", "5")),
            retrieval_max_age_days=int(env.get("RECRUIT_SYNC_RETRIEVAL_MAX_AGE_DAYS", "30")),
            journal_retention=Retention.from_env(),
        )
