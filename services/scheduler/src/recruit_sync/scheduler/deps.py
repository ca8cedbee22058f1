"""What every scheduler handler works with: the pool, the outbox relay, the settings and a clock.

The clock is one of them so that tests can move time (schedules, budgets); the service takes the rest
from ``runtime.service.Resources`` once it has started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import asyncpg

from recruit_sync.contracts.envelope import utc_now
from recruit_sync.runtime.service import Resources
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler.store import Conn


class Relay(Protocol):
    """Publishes what the outbox holds (runtime.outbox.OutboxRelay); called right after each commit."""

    async def publish_pending(self) -> int: ...


@dataclass(frozen=True)
class Deps:
    pool: asyncpg.Pool
    relay: Relay
    settings: Settings
    clock: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def of(cls, resources: Resources) -> Deps:
        return cls(pool=resources.pool, relay=resources.relay, settings=resources.settings)


@asynccontextmanager
async def transaction(deps: Deps) -> AsyncIterator[Conn]:
    """One handler's work, and the events it causes (written to the outbox), commit together."""
    async with deps.pool.acquire() as conn, conn.transaction():
        yield conn
