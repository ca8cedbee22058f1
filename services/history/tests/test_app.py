"""The service as deployed: events in through the real broker, RunCompleted out, RPC over the broker."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
from faststream import FastStream, TestApp
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import IgnoreReason, MessageRejected, Outcome, RecordBatch, RunCompleted
from recruit_sync.contracts.resources import EmailQuery, RecordRow, RecordsQuery, RunRef
from recruit_sync.history import app, handlers
from recruit_sync.history.app import SERVICE
from recruit_sync.history.store.outcomes import run_records
from recruit_sync.runtime.broker import EVENTS, BadInput, encode_event, publish_event
from recruit_sync.runtime.rpc import RpcClient, RpcError
from recruit_sync.runtime.service import build_app
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def run_completed(event_queue: Any) -> aio_pika.abc.AbstractQueue:
    queue: aio_pika.abc.AbstractQueue = await event_queue(topology.RUN_COMPLETED)
    return queue


def _history(database_url: str, amqp_url: str) -> FastStream:
    """The service as ``python -m recruit_sync.history`` runs it, on this test's database and vhost."""
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)
    return build_app(SERVICE, settings)


async def _next_run_completed(queue: aio_pika.abc.AbstractQueue, timeout: float = 10) -> RunCompleted:
    async with queue.iterator(timeout=timeout) as messages:
        async for message in messages:
            await message.ack()
            event = RunCompleted.model_validate(orjson.loads(message.body))
            assert message.message_id == str(event.event_id)
            assert message.correlation_id == event.summary.run_id
            return event
    raise AssertionError("no RunCompleted")


async def test_a_run_through_the_broker_ends_with_run_completed_and_answers_rpc(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    run_completed: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    r = run.record
    # queued before the service starts: delivered the moment it connects, before after_startup
    await publish_event(publisher, run.sync_due())
    await publish_event(
        publisher,
        run.batch(0, [r("1", "a@example.com"), r("2", None, Outcome.IGNORED, IgnoreReason.EMPTY_EMAIL)]),
    )
    async with TestApp(_history(database_url, amqp_url)):
        # SyncDue first, as in a real run (the fetcher is slower than that): the summary names the trigger
        for _ in range(100):
            if await pool.fetchval("SELECT trigger FROM runs WHERE run_id = $1", run.run_id):
                break
            await asyncio.sleep(0.1)
        await publish_event(publisher, run.batch(1, [r("3", "c@example.com", Outcome.DUPLICATE)]))
        await publish_event(publisher, run.fetch_completed(2, 3))
        completed = await _next_run_completed(run_completed)

        summary = completed.summary
        assert (summary.run_id, summary.sync_id, summary.state.value) == (run.run_id, "sync-1", "succeeded")
        assert (summary.total, summary.new, summary.duplicate, summary.ignored) == (3, 1, 1, 1)
        assert summary.ignored_by_reason["empty_email"] == 1

        api = RpcClient(amqp_url)  # as the HTTP API calls history
        await api.connect()
        try:
            assert await api.call(rpc.RUNS_GET, RunRef(run_id=run.run_id), timeout=10) == summary
            with pytest.raises(RpcError) as missing:
                await api.call(rpc.RUNS_GET, RunRef(run_id="nope"), timeout=10)
            assert missing.value.status == 404
            [listed] = await api.call(rpc.RUNS_LIST, rpc.RUNS_LIST.request(sync_id="sync-1"), timeout=10)
            assert listed == summary
            records = await api.call(
                rpc.RUNS_RECORDS, RecordsQuery(run_id=run.run_id, outcome=Outcome.IGNORED)
            )
            assert records == [
                RecordRow(record_id="2", email=None, outcome=Outcome.IGNORED, reason="empty_email")
            ]
            [explained] = await api.call(rpc.EXPLAIN, EmailQuery(email="C@EXAMPLE.com"), timeout=10)
            assert (explained.run_id, explained.record_id, explained.outcome) == (
                run.run_id,
                "3",
                "duplicate",
            )
        finally:
            await api.close()
        # the relay marks the row sent just after the publish the test already consumed
        for _ in range(50):
            if await pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox"):
                break
            await asyncio.sleep(0.1)
        assert await pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox") is True


async def _known(pool: asyncpg.Pool, run_id: str) -> None:
    """Until history has recorded the run (a rejection names only a run history knows)."""
    for _ in range(100):
        if await pool.fetchval("SELECT count(*) FROM runs WHERE run_id = $1", run_id):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"history has not recorded run {run_id}")


async def test_an_unreadable_batch_fails_its_run_through_message_rejected(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    run_completed: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    async with TestApp(_history(database_url, amqp_url)):
        await publish_event(publisher, run.sync_due())
        await _known(pool, run.run_id)
        await publisher.publish(
            b'{"type": "batch.imported", "seq": "first"}',
            exchange=EVENTS,
            routing_key=topology.BATCH_IMPORTED,
            correlation_id=run.run_id,
            persist=True,
        )
        completed = await _next_run_completed(run_completed)
    assert completed.summary.state.value == "failed"
    assert completed.summary.error is not None
    assert "history rejected a message" in completed.summary.error
    assert "cannot read the event: " in completed.summary.error and "seq: " in completed.summary.error


async def test_run_completed_left_unsent_by_a_crash_is_published_at_startup(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    run_completed: aio_pika.abc.AbstractQueue,
    run: Any,
) -> None:
    # committed, then the process died before publishing: only the outbox row exists
    written = await handlers.fail_fetch(run.fetch_failed("Recruit answered 500 five times"), pool=pool)
    assert written is not None
    async with TestApp(_history(database_url, amqp_url)):
        completed = await _next_run_completed(run_completed)
    assert completed == written


async def test_an_event_put_back_on_the_queue_directly_is_dispatched_on_its_type(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    run_completed: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    # e.g. moved back from the DLQ: the routing key is now the queue's name, not the event type
    failed = run.fetch_failed("Recruit answered 503")
    async with TestApp(_history(database_url, amqp_url)):
        await publisher.publish(
            encode_event(failed), queue=topology.HISTORY_EVENTS, **failed.amqp_properties()
        )
        completed = await _next_run_completed(run_completed)
    assert (completed.summary.state.value, completed.summary.error) == ("failed", "Recruit answered 503")


async def test_an_unknown_event_type_is_dead_lettered_and_fails_its_run(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    run_completed: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    async with TestApp(_history(database_url, amqp_url)):
        await publish_event(publisher, run.sync_due())
        await _known(pool, run.run_id)
        await publisher.publish(
            b'{"type": "run.teleported", "run_id": "x"}',
            queue=topology.HISTORY_EVENTS,
            correlation_id=run.run_id,
            persist=True,
        )
        completed = await _next_run_completed(run_completed)
    assert completed.summary.state.value == "failed" and completed.summary.error is not None
    assert "unknown event type 'run.teleported'" in completed.summary.error
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        dlq = await channel.get_queue(topology.dlq_name(topology.HISTORY_EVENTS))
        message = await dlq.get(timeout=5)
        assert message is not None and b"run.teleported" in message.body
    finally:
        await connection.close()


async def test_a_version_1_batch_through_the_broker_is_upgraded_and_recorded(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    run_completed: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    body = run.batch_v1(
        0,
        [
            {"record_id": "1", "email": "a@example.com", "outcome": "new", "reason": None},
            {"record_id": "2", "email": None, "outcome": "ignored", "reason": "malformed: Email is a number"},
        ],
    )
    async with TestApp(_history(database_url, amqp_url)):
        await publisher.publish(
            orjson.dumps(body),
            exchange=EVENTS,
            routing_key=topology.BATCH_IMPORTED,
            correlation_id=run.run_id,
        )
        await publish_event(publisher, run.fetch_completed(1, 2))
        completed = await _next_run_completed(run_completed)
    assert (completed.summary.state.value, completed.summary.total, completed.summary.new) == (
        "succeeded",
        2,
        1,
    )
    assert completed.summary.ignored_by_reason[IgnoreReason.MALFORMED] == 1
    async with pool.acquire() as conn:
        items = await run_records(conn, run.run_id, None, None, 0)
    assert [(item.record_id, item.reason, item.problem) for item in items] == [
        ("1", None, None),
        ("2", IgnoreReason.MALFORMED, "Email is a number"),
    ]


async def test_an_event_history_does_not_keep_is_bad_input(pool: asyncpg.Pool, run: Any) -> None:
    batch = RecordBatch(
        run_id=run.run_id, sync_id=run.sync_id, seq=0, module="Candidates", settings=run.sync_due().settings
    )
    with pytest.raises(BadInput, match="history does not consume RecordBatch"):
        await app.handle(batch, pool)


async def test_a_rejection_that_cannot_be_recorded_is_logged_and_dropped(
    pool: asyncpg.Pool, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(event: MessageRejected, *, pool: asyncpg.Pool) -> None:
        raise RuntimeError("cannot record it")

    monkeypatch.setattr(handlers, "fail_rejected_run", broken)
    # not raised: the subscriber acks it, so no MessageRejected about a MessageRejected is announced
    assert await app.handle(run.rejected("broken"), pool) is None
