"""The outbox relay: publishes events committed to the ``outbox`` table, then deletes them.

Handlers call ``publish_pending`` right after their commit; a background loop retries whatever a
failed publish or a crash left behind. Rows are locked with SKIP LOCKED, so replicas and the two
callers never publish one row at the same time; a crash after publishing and before the delete
republishes with the same event id, which consumers skip.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts.events import EVENT_TYPES
from recruit_sync.runtime.broker import publish_event
from recruit_sync.scheduler import store

log = structlog.get_logger()

BATCH = 100
INTERVAL_SECONDS = 2.0


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, broker: RabbitBroker) -> None:
        self._pool = pool
        self._broker = broker

    async def publish_pending(self) -> int:
        """Publish every unsent event; a failure is logged and left for the next pass. Returns the count."""
        sent = 0
        try:
            while True:
                async with self._pool.acquire() as conn, conn.transaction():
                    rows = await store.lock_unsent(conn, BATCH)
                    for row in rows:
                        event = EVENT_TYPES[row["routing_key"]].model_validate(row["payload"])
                        await publish_event(self._broker, event)
                    await store.delete_sent(conn, [row["id"] for row in rows])
                sent += len(rows)
                if len(rows) < BATCH:
                    return sent
        except Exception as exc:
            log.warning("outbox publish failed, will retry", error=repr(exc))
            return sent

    async def run(self) -> None:
        """Re-publish what was left unsent (at startup, then every few seconds) until cancelled."""
        while True:
            await self.publish_pending()
            await asyncio.sleep(INTERVAL_SECONDS)
