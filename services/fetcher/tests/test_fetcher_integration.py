"""The fetcher on the real RabbitMQ: SyncDue in, RecordBatch* + FetchCompleted (or FetchFailed) out.

Recruit is the simulator, reached through httpx.ASGITransport injected into the client factory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import orjson
import pytest
from faststream import TestApp

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import SyncDue
from recruit_sync.fetcher.app import build_app
from recruit_sync.fetcher.handlers import recruit_client_factory
from recruit_sync.fetcher.recruit_http import RetryPolicy
from recruit_sync.runtime.broker import EVENTS, declare_topology, publish_event
from recruit_sync.runtime.settings import Settings
from recruit_sync.sim.app import create_app
from recruit_sync.sim.data import SimData

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=2, backoff_base=0.0001, backoff_max=0.0002, max_wait=0.1)
OUTPUT_KEYS = (
    topology.RECORD_BATCH,
    topology.FETCH_COMPLETED,
    topology.FETCH_FAILED,
    topology.MESSAGE_REJECTED,
)
LAST_KEYS = OUTPUT_KEYS[1:]


@pytest.fixture
async def fetcher(amqp_url: str, publisher: Any) -> AsyncIterator[Any]:
    """``await fetch(sim_app, due)`` -> the fetcher's output messages, in order; the service runs as
    deployed (``build_app``), its Recruit clients reaching the simulator. ``due`` may be a raw body."""
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    events = await channel.get_exchange(topology.EVENTS_EXCHANGE)
    collector = await channel.declare_queue(exclusive=True)
    for key in OUTPUT_KEYS:
        await collector.bind(events, routing_key=key)

    async def fetch(sim_app: Any, due: SyncDue | bytes) -> list[aio_pika.abc.AbstractIncomingMessage]:
        settings = dataclasses.replace(Settings.from_env(), amqp_url=amqp_url)
        connect = recruit_client_factory(timeout=5, transport=httpx.ASGITransport(app=sim_app), retry=FAST)
        received: list[aio_pika.abc.AbstractIncomingMessage] = []
        async with TestApp(build_app(settings, connect=connect)):
            if isinstance(due, bytes):
                await publisher.publish(
                    due, exchange=EVENTS, routing_key=topology.SYNC_DUE, correlation_id="run-bad"
                )
            else:
                await publish_event(publisher, due)
            async with collector.iterator() as messages, asyncio.timeout(15):
                async for message in messages:
                    await message.ack()
                    received.append(message)
                    if message.routing_key in LAST_KEYS:
                        break
            await asyncio.sleep(0.2)  # let the SyncDue's ack reach the broker
        return received

    yield fetch, channel
    await connection.close()


def body(message: aio_pika.abc.AbstractIncomingMessage) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(message.body)
    return decoded


async def queue_depths(channel: aio_pika.abc.AbstractChannel) -> tuple[int, int]:
    """(ready messages on the fetcher's queue, on its dead-letter queue): both 0 once a SyncDue is acked."""
    depths = []
    for name in (topology.FETCHER_SYNC_DUE, topology.dlq_name(topology.FETCHER_SYNC_DUE)):
        queue = await channel.declare_queue(name, passive=True)
        depths.append(queue.declaration_result.message_count or 0)
    return depths[0], depths[1]


async def test_sync_due_becomes_batches_then_fetch_completed(fetcher: Any, make_due: Any) -> None:
    fetch, channel = fetcher
    records, batch_size = 1234, 500
    due = make_due(run_id="run-int-1", batch_size=batch_size)
    received = await fetch(create_app(SimData.from_dict({}, generate=records)), due)

    *batches, completed = received
    assert completed.routing_key == topology.FETCH_COMPLETED
    assert all(m.routing_key == topology.RECORD_BATCH for m in batches)
    assert len(batches) == math.ceil(records / batch_size)
    decoded = [body(m) for m in batches]
    assert sorted(b["seq"] for b in decoded) == list(range(len(batches)))
    ids = {r["id"] for b in decoded for r in b["records"]}
    assert len(ids) == records
    # on the wire, only what the import reads (no mapping: the checked fields): no Phone, City, Skill_Set
    assert {key for b in decoded for r in b["records"] for key in r} == {
        "id", "Email", "Email_Opt_Out", "$converted", "Updated_On"
    }  # fmt: skip
    for message, batch in zip([*batches, completed], [*decoded, body(completed)], strict=True):
        assert message.message_id == batch["event_id"]
        assert message.correlation_id == "run-int-1" == batch["run_id"]
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    summary = body(completed)
    assert (summary["batch_count"], summary["record_count"]) == (len(batches), records)
    assert summary["credits"] == 1 + 3 * math.ceil(records / 200) + 1
    assert await queue_depths(channel) == (0, 0)


async def test_recruit_refusing_every_call_gives_fetch_failed_auth(fetcher: Any, make_due: Any) -> None:
    fetch, channel = fetcher
    sim = create_app(SimData.from_dict({}, generate=10))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://sim") as http:
        await http.post("/_sim/faults", json={"status": 401, "count": 100})
    [failed] = await fetch(sim, make_due(run_id="run-int-2"))

    assert failed.routing_key == topology.FETCH_FAILED
    event = body(failed)
    assert event["auth_failed"] is True
    assert event["error"].startswith("GET /recruit/v2/settings/modules: HTTP 401 INVALID_TOKEN")
    assert failed.message_id == event["event_id"] and failed.correlation_id == "run-int-2"
    assert await queue_depths(channel) == (0, 0)  # the run failed; the SyncDue is not dead-lettered


async def test_a_sync_due_that_cannot_be_read_is_dead_lettered_and_announced(fetcher: Any) -> None:
    fetch, channel = fetcher
    [rejected] = await fetch(create_app(SimData.from_dict({})), b'{"type": "sync.due", "run_id": 7}')
    assert rejected.routing_key == topology.MESSAGE_REJECTED
    event = body(rejected)
    assert (event["consumer"], event["queue"], event["run_id"]) == (
        "fetcher",
        topology.FETCHER_SYNC_DUE,
        "run-bad",
    )
    assert event["reason"].startswith("cannot read SyncDue: ")
    assert await queue_depths(channel) == (0, 1)
