"""The service as deployed: RecordBatch in through the real broker, BatchImported out, RPC over the broker."""

from __future__ import annotations

import dataclasses
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
from faststream import TestApp
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import BatchImported
from recruit_sync.contracts.rpc import IMPORTER_OPS
from recruit_sync.importer.app import build_app, operations
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import publish_event
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def batch_imported(event_queue: Any) -> aio_pika.abc.AbstractQueue:
    queue: aio_pika.abc.AbstractQueue = await event_queue(topology.BATCH_IMPORTED)
    return queue


async def _next(queue: aio_pika.abc.AbstractQueue, timeout: float = 10) -> tuple[BatchImported, bytes]:
    async with queue.iterator(timeout=timeout) as messages:
        async for message in messages:
            await message.ack()
            event = BatchImported.model_validate(orjson.loads(message.body))
            assert message.message_id == str(event.event_id)
            assert message.correlation_id == event.run_id
            return event, message.body
    raise AssertionError("no BatchImported")


def test_every_importer_rpc_operation_is_served(pool: asyncpg.Pool) -> None:
    assert set(operations(pool)) == set(IMPORTER_OPS)


async def test_batches_through_the_broker(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    batch_imported: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    sync: Any,
    record: Any,
) -> None:
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)
    batch = sync.batch(
        0, [record("1", "jane@example.com"), record("2", "careers@zylker.com"), {"id": "3", "Email": 5}]
    )
    async with TestApp(build_app(settings)):
        await publish_event(publisher, batch)
        event, body = await _next(batch_imported)
        assert event.causation_id == str(batch.event_id)
        assert [(o.outcome.value, o.reason) for o in event.outcomes] == [
            ("new", None),
            ("ignored", "role_address"),
            ("ignored", "malformed: Email is not a string"),
        ]

        await publish_event(publisher, batch)  # a redelivery: same event, byte for byte
        _, again = await _next(batch_imported)
        assert again == body

        api = rpc.RpcClient(amqp_url)  # as the HTTP API calls the importer
        await api.connect()
        try:
            reply = await api.call(topology.IMPORTER_RPC, "list.members", {"list": "IT talent"}, timeout=10)
            assert reply.ok
            assert reply.result == [{"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"}]
            missing = await api.call(topology.IMPORTER_RPC, "list.members", {"list": "Nope"}, timeout=10)
            assert (missing.ok, missing.status) == (False, 404)
            added = await api.call(
                topology.IMPORTER_RPC,
                "suppress.add",
                {"reason": "bounced", "emails": ["x@example.com", "x@"]},
            )
            assert added.result == {"added": 1, "invalid": ["x@"]}
        finally:
            await api.close()
