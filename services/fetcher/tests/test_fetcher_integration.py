"""The fetcher on the real RabbitMQ: SyncDue in, RecordBatch* + FetchCompleted (or FetchFailed) out; and
previews on its RPC queue, decided by the importer (a fake one here) over its RPC queue.

Recruit is the simulator, reached through httpx.ASGITransport injected into the client factory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import aio_pika
import httpx
import orjson
import pytest
from faststream import TestApp
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import BatchImported, RunCounts, SyncDue
from recruit_sync.contracts.resources import NoArguments, Preview, PreviewBatch, PreviewOutcomes, Scratch
from recruit_sync.fetcher import app as fetcher_app
from recruit_sync.fetcher.app import build_app
from recruit_sync.fetcher.handlers import recruit_client_factory
from recruit_sync.fetcher.recruit_http import RetryPolicy
from recruit_sync.runtime.broker import EVENTS, declare_topology, make_broker, publish_event, rpc_queue
from recruit_sync.runtime.rpc import RpcClient, RpcError, dispatch, serve
from recruit_sync.runtime.rpc import operations as rpc_operations
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


# previews: the fetcher's RPC queue, and its calls to the importer's ---------------------------------------

SCRATCH = Scratch(scratch="scratch_" + "cd" * 16)
OUTCOMES = PreviewOutcomes(summary=RunCounts(total=3, new=3), samples={})


@asynccontextmanager
async def fake_importer(amqp_url: str, calls: list[tuple[str, Any]]) -> AsyncIterator[None]:
    """The importer's preview operations answered on its RPC queue, each request kept."""

    async def open_scratch(request: NoArguments) -> Scratch:
        calls.append(("open", request))
        return SCRATCH

    async def decide(request: PreviewBatch) -> BatchImported:
        calls.append(("batch", request))
        batch = request.batch
        return BatchImported(run_id=batch.run_id, sync_id=batch.sync_id, seq=batch.seq, outcomes=[])

    async def close(request: Scratch) -> PreviewOutcomes:
        calls.append(("close", request))
        return OUTCOMES

    table = rpc_operations(
        (
            serve(rpc.PREVIEW_OPEN, open_scratch),
            serve(rpc.PREVIEW_BATCH, decide),
            serve(rpc.PREVIEW_CLOSE, close),
        )
    )
    broker = make_broker(amqp_url, consumer="fake-importer")

    @broker.subscriber(rpc_queue(topology.IMPORTER_RPC))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await dispatch(table, message.body)

    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def as_planned(due: SyncDue) -> SyncDue:
    """``due`` as the API holds the scheduler's plan: read from JSON, every key set. (``RpcClient`` sends
    only the keys that were set, so a SelectAll() made in Python would travel without its ``kind``.)"""
    return SyncDue.model_validate(due.model_dump(mode="json"))


class CountedRpcClient(RpcClient):
    """The fetcher's client to the importer, counting how often it connects and closes."""

    counts: ClassVar[dict[str, int]] = {}

    async def connect(self) -> None:
        await super().connect()
        self.counts["connect"] = self.counts.get("connect", 0) + 1

    async def close(self) -> None:
        await super().close()
        self.counts["close"] = self.counts.get("close", 0) + 1


async def test_a_preview_is_served_on_the_fetchers_rpc_queue_and_publishes_nothing(
    amqp_url: str, make_due: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetcher_app, "RpcClient", CountedRpcClient)
    monkeypatch.setattr(CountedRpcClient, "counts", {})
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    everything = await channel.declare_queue(exclusive=True)
    await everything.bind(await channel.get_exchange(topology.EVENTS_EXCHANGE), routing_key="#")
    settings = dataclasses.replace(Settings.from_env(), amqp_url=amqp_url)
    sim = create_app(SimData.from_dict({}, generate=450))
    connect = recruit_client_factory(timeout=5, transport=httpx.ASGITransport(app=sim), retry=FAST)
    api = RpcClient(amqp_url)  # as the HTTP API calls the fetcher
    await api.connect()
    calls: list[tuple[str, Any]] = []
    try:
        async with fake_importer(amqp_url, calls), TestApp(build_app(settings, connect=connect)):
            answer = await api.call(
                rpc.FETCH_PREVIEW, as_planned(make_due(run_id="preview-1", batch_size=200)), timeout=15
            )
            await sim_faults(sim, {"status": 503, "count": 10, "path": "/recruit/v2/Candidates"})
            with pytest.raises(RpcError) as failed:
                await api.call(rpc.FETCH_PREVIEW, as_planned(make_due(run_id="preview-2")), timeout=15)
        await asyncio.sleep(0.2)  # anything published would have reached the queue by now
        assert await everything.get(fail=False) is None  # no RecordBatch, no FetchCompleted: nothing
    finally:
        await api.close()
        await connection.close()

    assert answer == Preview(**OUTCOMES.model_dump(), api_calls=1 + 3 + 1, credits=1 + 9 + 1)
    assert [name for name, _ in calls] == ["open", "batch", "batch", "batch", "close", "open", "close"]
    # two batches are in the importer at a time, so they may arrive in either order
    batches = sorted((request.batch for name, request in calls if name == "batch"), key=lambda b: b.seq)
    assert [(b.run_id, b.seq, len(b.records)) for b in batches] == [
        ("preview-1", 0, 200),
        ("preview-1", 1, 200),
        ("preview-1", 2, 50),
    ]
    assert (failed.value.status, str(failed.value)) == (
        502,
        "GET /recruit/v2/Candidates: HTTP 503 after 2 tries",
    )
    # one connection to the importer for both previews, closed when the service stopped
    assert CountedRpcClient.counts == {"connect": 1, "close": 1}


async def sim_faults(sim: Any, *faults: dict[str, Any]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim), base_url="http://sim") as http:
        for fault in faults:
            assert (await http.post("/_sim/faults", json=fault)).status_code == 200
