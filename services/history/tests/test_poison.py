"""Poison messages (issue 10): dead-lettered by a consumer, they fail a run history knows and invent none.

The consumer here is the importer's queue read through the runtime's one consumer path (``make_broker``
with ``DeadLetters``, ``decoder(RecordBatch)``), exactly as the importer reads it; history is the
service as deployed. Everything goes through the real broker and database.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
from faststream import TestApp
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import MessageRejected, RecordBatch, RunCompleted
from recruit_sync.history.app import SERVICE
from recruit_sync.runtime.broker import decoder, make_broker, publish_event, work_queue
from recruit_sync.runtime.service import build_app
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def importer_queue(amqp_url: str) -> AsyncIterator[None]:
    """A consumer of the importer's queue on the importer's consumer path; every batch it reads is
    fine (none of the poison gets that far)."""
    broker = make_broker(amqp_url, consumer="importer")

    @broker.subscriber(work_queue(topology.IMPORTER_RECORD_BATCH), decoder=decoder(RecordBatch))
    async def on_batch(batch: RecordBatch) -> None:
        return None

    await broker.start()
    yield
    await broker.stop()


async def _published(queue: aio_pika.abc.AbstractQueue, count: int, timeout: float = 20) -> list[Any]:
    bodies: list[Any] = []
    async with queue.iterator(timeout=timeout) as messages:
        async for message in messages:
            await message.ack()
            bodies.append(orjson.loads(message.body))
            if len(bodies) == count:
                break
    return bodies


async def _handled_rejections(pool: asyncpg.Pool, count: int) -> None:
    for _ in range(200):
        if await pool.fetchval("SELECT count(*) FROM inbox WHERE event_type = 'message.rejected'") >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"history did not handle {count} rejections")


async def test_poison_without_a_known_run_creates_no_run_and_announces_nothing(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    event_queue: Any,
    publisher: RabbitBroker,
    importer_queue: None,
    run: Any,
) -> None:
    rejected = await event_queue(topology.MESSAGE_REJECTED)
    completed = await event_queue(topology.RUN_COMPLETED)
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)
    async with TestApp(build_app(SERVICE, settings)):
        await publish_event(publisher, run.sync_due())  # a real run, running
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            # 1. not JSON at all, without a correlation id (aio-pika sends none)
            await channel.default_exchange.publish(
                aio_pika.Message(b"\x00 not json"), routing_key=topology.IMPORTER_RECORD_BATCH
            )
        finally:
            await connection.close()
        # 2. JSON of the wrong shape, published without a correlation id through FastStream, which then
        # sets a random one: the importer announces it as the run id of a run nobody ever started
        await publisher.publish(
            b'{"type": "record.batch", "oops": 1}', queue=topology.IMPORTER_RECORD_BATCH, persist=True
        )
        # 3. the same, naming the real run: that run fails (and shows the rejections reach history)
        await publisher.publish(
            b'{"type": "record.batch", "oops": 2}',
            queue=topology.IMPORTER_RECORD_BATCH,
            correlation_id=run.run_id,
            persist=True,
        )
        announced = [MessageRejected.model_validate(body) for body in await _published(rejected, 3)]
        await _handled_rejections(pool, 3)
        [failed] = [RunCompleted.model_validate(body) for body in await _published(completed, 1)]

    run_ids = [r.run_id for r in announced]
    assert None in run_ids and run.run_id in run_ids and len(set(run_ids)) == 3  # the third: random
    assert {r.consumer for r in announced} == {"importer"}
    # only the real run exists, failed with the reason; the poison made no run of no sync
    assert [tuple(row) for row in await pool.fetch("SELECT run_id, sync_id, state FROM runs")] == [
        (run.run_id, run.sync_id, "failed")
    ]
    assert failed.summary.run_id == run.run_id and failed.summary.sync_id == run.sync_id
    assert failed.summary.error is not None and "cannot read RecordBatch" in failed.summary.error
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1
    # all three are in the importer's dead-letter queue
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(topology.dlq_name(topology.IMPORTER_RECORD_BATCH), passive=True)
        assert dlq.declaration_result.message_count == 3
    finally:
        await connection.close()
