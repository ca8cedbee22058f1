"""The service as deployed: events in through the real broker, RunCompleted out, RPC over the broker."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
from faststream import TestApp
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import Outcome, RunCompleted
from recruit_sync.history import handlers
from recruit_sync.history.app import build_app
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import EVENTS, encode_event, publish_event
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def run_completed(event_queue: Any) -> aio_pika.abc.AbstractQueue:
    queue: aio_pika.abc.AbstractQueue = await event_queue(topology.RUN_COMPLETED)
    return queue


def _settings(database_url: str, amqp_url: str) -> Settings:
    return dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)


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
        publisher, run.batch(0, [r("1", "a@example.com"), r("2", None, Outcome.IGNORED, "empty_email")])
    )
    async with TestApp(build_app(_settings(database_url, amqp_url))):
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

        api = rpc.RpcClient(amqp_url)  # as the HTTP API calls history
        await api.connect()
        try:
            reply = await api.call(topology.HISTORY_RPC, "runs.get", {"run_id": run.run_id}, timeout=10)
            assert reply.ok and reply.result == summary.model_dump(mode="json")
            missing = await api.call(topology.HISTORY_RPC, "runs.get", {"run_id": "nope"}, timeout=10)
            assert (missing.ok, missing.status) == (False, 404)
        finally:
            await api.close()
        # the relay marks the row sent just after the publish the test already consumed
        for _ in range(50):
            if await pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox"):
                break
            await asyncio.sleep(0.1)
        assert await pool.fetchval("SELECT sent_at IS NOT NULL FROM outbox") is True


async def test_an_unreadable_batch_fails_its_run_through_message_rejected(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    run_completed: aio_pika.abc.AbstractQueue,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    async with TestApp(build_app(_settings(database_url, amqp_url))):
        await publish_event(publisher, run.sync_due())
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
    assert "cannot read BatchImported" in completed.summary.error


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
    async with TestApp(build_app(_settings(database_url, amqp_url))):
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
    async with TestApp(build_app(_settings(database_url, amqp_url))):
        await publisher.publish(
            encode_event(failed), queue=topology.HISTORY_EVENTS, **failed.amqp_properties()
        )
        completed = await _next_run_completed(run_completed)
    assert (completed.summary.state.value, completed.summary.error) == ("failed", "Recruit answered 503")
