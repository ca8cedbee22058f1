"""Publishes what handlers wrote to the outbox: woken after each commit, and every few seconds anyway.

The periodic pass (and the one at startup) is what makes a crash between commit and publish harmless:
the row is still unsent, so it goes out later with the same event id. Replicas share the table
through ``FOR UPDATE SKIP LOCKED``; a row published twice (crash before ``sent_at`` is written) carries
the same event id both times, which consumers deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import EVENT_TYPES
from recruit_sync.history import store

log = structlog.get_logger()

Publish = Callable[[Envelope], Awaitable[None]]


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, publish: Publish, *, interval: float = 2.0, batch: int = 100):
        self._pool = pool
        self._publish = publish
        self._interval = interval
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Publish soon: a handler has just committed an outbox row."""
        self._wake.set()

    async def flush(self) -> int:
        """Publish every unsent row; returns how many were published."""
        published = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await store.unsent(conn, self._batch)
                for row in rows:
                    event = EVENT_TYPES[row["routing_key"]].model_validate(row["payload"])
                    await self._publish(event)
                await store.mark_sent(conn, [row["event_id"] for row in rows])
            published += len(rows)
            if len(rows) < self._batch:
                return published

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="history-outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                sent = await self.flush()
                if sent:
                    log.info("outbox published", events=sent)
            except Exception:
                # broker or database away: the rows stay unsent and the next pass retries them
                log.exception("outbox relay pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
