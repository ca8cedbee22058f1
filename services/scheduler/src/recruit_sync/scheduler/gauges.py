"""The gauges the scheduler keeps for the whole deployment (``runtime.metrics``): the age of the oldest
sync that is due but not started, and the depth of every work queue and dead-letter queue.

One process kind refreshes them (the scheduler: every replica, each reading the same numbers), every
``GAUGE_SECONDS``: queue depths by passive declares on a connection of its own, the oldest due sync by
one query. A failed look leaves the last values and tries again next time.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

import aio_pika
import structlog

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import utc_now
from recruit_sync.runtime import metrics
from recruit_sync.runtime.broker import TRANSIENT_ERRORS
from recruit_sync.runtime.service import Resources

log = structlog.get_logger()

DEFAULT_GAUGE_SECONDS = 15.0

# active syncs due by now with no run in flight: those the tick has not started (yet)
OLDEST_DUE = """
    SELECT min(s.next_due_at) FROM syncs s
    LEFT JOIN runs_in_flight f ON f.sync_id = s.id
    WHERE s.state = 'active' AND s.next_due_at <= $1 AND f.sync_id IS NULL
"""


GAUGE_ERRORS: tuple[type[BaseException], ...] = (*TRANSIENT_ERRORS, aio_pika.exceptions.AMQPError)


def gauge_seconds_from_env() -> float:
    value = float(os.environ.get("RECRUIT_SYNC_GAUGE_SECONDS", DEFAULT_GAUGE_SECONDS))
    if not 0 < value <= 3600:
        raise ValueError(f"RECRUIT_SYNC_GAUGE_SECONDS must be between 0 and 3600 seconds, not {value:g}")
    return value


async def oldest_due_age(resources: Resources, now: datetime) -> float:
    async with resources.pool.acquire() as conn:
        oldest: datetime | None = await conn.fetchval(OLDEST_DUE, now)
    return 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)


async def queue_depths(connection: aio_pika.abc.AbstractConnection) -> dict[str, tuple[int, int]]:
    """Each work queue's (ready messages, messages in its DLQ), by passive declares."""
    depths: dict[str, tuple[int, int]] = {}
    channel = await connection.channel()
    try:
        for name in topology.WORK_QUEUES:
            work = await channel.declare_queue(name, passive=True)
            dlq = await channel.declare_queue(topology.dlq_name(name), passive=True)
            depths[name] = (
                work.declaration_result.message_count or 0,
                dlq.declaration_result.message_count or 0,
            )
    finally:
        await channel.close()
    return depths


async def refresh_gauges(resources: Resources, every: float | None = None) -> None:
    """The scheduler's loop: refresh the gauges every ``every`` seconds until cancelled."""
    every = every or gauge_seconds_from_env()
    connection: aio_pika.abc.AbstractConnection | None = None
    try:
        while True:
            try:
                metrics.OLDEST_DUE_AGE.set(await oldest_due_age(resources, utc_now()))
                if connection is None or connection.is_closed:
                    connection = await aio_pika.connect_robust(resources.settings.amqp_url)
                for name, (ready, dead) in (await queue_depths(connection)).items():
                    metrics.QUEUE_MESSAGES.labels(queue=name).set(ready)
                    metrics.DLQ_MESSAGES.labels(queue=topology.dlq_name(name)).set(dead)
            except GAUGE_ERRORS as exc:
                log.warning("could not refresh the gauges", error=repr(exc))
            except Exception:
                log.exception("refreshing the gauges failed")
            await asyncio.sleep(every)
    finally:
        if connection is not None:
            await connection.close()
