"""The transactional outbox every service that announces a database change uses.

``enqueue`` writes an event in the caller's transaction; ``OutboxRelay`` publishes committed rows and
marks them sent. A service calls ``publish_pending`` (inline, right after its commit) or ``wake`` (let
the background pass do it); the background pass also runs at start-up and every few seconds, which is
what makes a crash between commit and publish harmless: the row is still unsent and goes out later
with the same event id. Replicas share the table through ``FOR UPDATE SKIP LOCKED``; a row published
twice (crash before ``sent_at`` is written) carries the same event id both times, which consumers skip.

Each service's migrations create the table: ``outbox (id bigserial, event_id uuid unique,
routing_key text, payload jsonb, created_at timestamptz, sent_at timestamptz, trace_context jsonb)``.
``trace_context`` is the trace the event was written in (``runtime.tracing.carrier``, null when
tracing is off); the relay publishes the event inside it, so it stays in its run's trace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import EVENT_TYPES
from recruit_sync.runtime import tracing

log = structlog.get_logger()

Publish = Callable[[Envelope], Awaitable[None]]


async def enqueue(conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, event: Envelope) -> None:
    """Write ``event`` to publish after commit (a deterministic event id is written once)."""
    await conn.execute(
        "INSERT INTO outbox (event_id, routing_key, payload, trace_context) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (event_id) DO NOTHING",
        event.event_id,
        event.ROUTING_KEY,
        event.model_dump(mode="json", by_alias=True),
        tracing.carrier(),
    )


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, publish: Publish, *, interval: float = 2.0, batch: int = 100):
        self._pool = pool
        self._publish = publish
        self._interval = interval
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def flush(self) -> int:
        """Publish every unsent row, oldest first; returns how many. Raises when the broker or DB fails."""
        published = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    "SELECT event_id, routing_key, payload, trace_context FROM outbox WHERE sent_at IS NULL "
                    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                    self._batch,
                )
                for row in rows:
                    with tracing.attached(row["trace_context"]):
                        await self._publish(EVENT_TYPES[row["routing_key"]].model_validate(row["payload"]))
                await conn.execute(
                    "UPDATE outbox SET sent_at = now() WHERE event_id = ANY($1::uuid[])",
                    [row["event_id"] for row in rows],
                )
            published += len(rows)
            if len(rows) < self._batch:
                return published

    async def publish_pending(self) -> int:
        """``flush`` for a handler that has just committed: a failure is logged and left to the next pass."""
        try:
            return await self.flush()
        except Exception as exc:
            log.warning("outbox publish failed, will retry", error=repr(exc))
            return 0

    def wake(self) -> None:
        """Publish soon, from the background pass."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            sent = await self.publish_pending()
            if sent:
                log.info("outbox published", events=sent)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
