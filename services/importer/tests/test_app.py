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

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import BatchImported, IgnoreReason, MessageRejected, read_event
from recruit_sync.contracts.resources import (
    ListRef,
    Member,
    NoArguments,
    Suppress,
    Suppressed,
    SuppressionReason,
    SuppressionsQuery,
)
from recruit_sync.importer.app import SERVICE, operations
from recruit_sync.runtime.broker import EVENTS, publish_event
from recruit_sync.runtime.rpc import RpcClient, RpcError
from recruit_sync.runtime.service import Resources, build_app
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def batch_imported(event_queue: Any) -> aio_pika.abc.AbstractQueue:
    queue: aio_pika.abc.AbstractQueue = await event_queue(topology.BATCH_IMPORTED)
    return queue


async def _next(queue: aio_pika.abc.AbstractQueue, timeout: float = 10) -> bytes:
    async with queue.iterator(timeout=timeout) as messages:
        async for message in messages:
            await message.ack()
            return message.body
    raise AssertionError("no message")


async def test_during_an_upgrade_batch_imported_goes_out_as_version_2(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    batch_imported: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    sync: Any,
    record: Any,
) -> None:
    """``RECRUIT_SYNC_BATCH_IMPORTED_VERSION=2``: history processes of a release before version 3 read it."""
    settings = dataclasses.replace(
        Settings.from_env(), database_url=database_url, amqp_url=amqp_url, batch_imported_version=2
    )
    batch = sync.batch(0, [record("1", "jane@example.com"), record("2", "careers@zylker.com")])
    async with TestApp(build_app(SERVICE, settings)):
        await publish_event(publisher, batch)
        sent = orjson.loads(await _next(batch_imported))
    assert sent["version"] == 2
    assert [(o["record_id"], o["outcome"], o["reason"]) for o in sent["outcomes"]] == [
        ("1", "new", None),
        ("2", "ignored", "role_address"),
    ]
    assert read_event(orjson.dumps(sent), topology.BATCH_IMPORTED).version == 3  # and this release reads it


def test_every_importer_rpc_operation_is_served(pool: asyncpg.Pool) -> None:
    resources = Resources(Settings.from_env(), broker=None, _pool=pool)  # type: ignore[arg-type]
    served = {item.operation for item in operations(resources)}
    assert served == {op for op in rpc.OPERATIONS if op.queue == topology.IMPORTER_RPC}


async def test_batches_through_the_broker(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    batch_imported: aio_pika.abc.AbstractQueue,
    event_queue: Any,
    publisher: RabbitBroker,
    sync: Any,
    record: Any,
) -> None:
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)
    rejected = await event_queue(topology.MESSAGE_REJECTED)
    batch = sync.batch(
        0, [record("1", "jane@example.com"), record("2", "careers@zylker.com"), {"id": "3", "Email": 5}]
    )
    async with TestApp(build_app(SERVICE, settings)):
        await publish_event(publisher, batch)
        message = await _next(batch_imported)
        event = BatchImported.model_validate(orjson.loads(message))
        assert (event.causation_id, event.correlation_id) == (str(batch.event_id), batch.run_id)
        assert [(o.outcome.value, o.reason, o.problem) for o in event.outcomes] == [
            ("new", None, None),
            ("ignored", IgnoreReason.ROLE_ADDRESS, None),
            ("ignored", IgnoreReason.MALFORMED, "Email is not a string"),
        ]

        await publish_event(publisher, batch)  # a redelivery: same event, byte for byte
        assert await _next(batch_imported) == message

        await publisher.publish(
            b'{"type": "record.batch"}',
            exchange=EVENTS,
            routing_key=topology.RECORD_BATCH,
            correlation_id="r9",
        )
        refusal = MessageRejected.model_validate(orjson.loads(await _next(rejected)))
        assert (refusal.consumer, refusal.queue, refusal.run_id) == (
            "importer",
            topology.IMPORTER_RECORD_BATCH,
            "r9",
        )
        assert refusal.reason.startswith("cannot read RecordBatch: ")

        api = RpcClient(amqp_url)  # as the HTTP API calls the importer
        await api.connect()
        try:
            members = await api.call(rpc.LIST_MEMBERS, ListRef(list="IT talent"), timeout=10)
            assert members == [Member(email="jane@example.com", first_name="Jane", last_name="Doe")]
            lists = await api.call(rpc.LIST_ALL, NoArguments(), timeout=10)
            assert [(info.name, info.members) for info in lists] == [("IT talent", 1)]
            with pytest.raises(RpcError) as missing:
                await api.call(rpc.LIST_MEMBERS, ListRef(list="Nope"), timeout=10)
            assert (str(missing.value), missing.value.status) == ("no mailing list named 'Nope'", 404)

            added = await api.call(
                rpc.SUPPRESS_ADD,
                Suppress(reason=SuppressionReason.BOUNCED, emails=["x@example.com", "x@"]),
                timeout=10,
            )
            assert added == Suppressed(added=1, invalid=["x@"])
            listed = await api.call_raw(topology.IMPORTER_RPC, "suppress.list", {}, timeout=10)
            [suppression] = listed.result
            assert (suppression["email"], suppression["reason"]) == ("x@example.com", "bounced")
            assert suppression["created_at"].endswith("+00:00")  # isoformat, as the CLI prints it

            # requests the models refuse, named by their key
            spam = await api.call_raw(
                topology.IMPORTER_RPC, "suppress.add", {"reason": "spam", "emails": ["a@example.com"]}
            )
            assert (spam.ok, spam.status) == (False, 400) and "reason" in (spam.error or "")
            not_a_list = await api.call_raw(topology.IMPORTER_RPC, "suppress.remove", {"emails": "a@x.com"})
            assert (not_a_list.ok, not_a_list.status) == (False, 400) and "emails" in (not_a_list.error or "")
            filtered = await api.call(
                rpc.SUPPRESS_LIST, SuppressionsQuery(reason=SuppressionReason.DO_NOT_MAIL)
            )
            assert filtered == []
        finally:
            await api.close()
