"""Dead letters on the real broker: refused through ``DeadLetters`` with the reason in their headers, listed
without being consumed, put back into their work queue and consumed, or dropped (``runtime.dead_letters``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import FetchCompleted, MessageRejected
from recruit_sync.contracts.resources import DeadLetterQueue
from recruit_sync.runtime import dead_letters
from recruit_sync.runtime.broker import (
    EVENTS,
    any_event,
    declare_topology,
    make_broker,
    publish_event,
    work_queue,
)

QUEUE = topology.HISTORY_EVENTS
DLQ = topology.dlq_name(QUEUE)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def completed(run_id: str) -> FetchCompleted:
    return FetchCompleted(
        run_id=run_id,
        sync_id="sync-1",
        batch_count=0,
        record_count=0,
        api_calls=1,
        credits=1,
        started_at=NOW,
        correlation_id=run_id,
    )


# --- the pure parts -----------------------------------------------------------------------------------


def test_a_queue_is_named_by_its_work_queue_or_its_dlq_and_nothing_else() -> None:
    assert dead_letters.work_queue_of(QUEUE) == QUEUE
    assert dead_letters.work_queue_of(f" {DLQ} ") == QUEUE
    for wrong in ("importer", "recruit_sync.journal", topology.HISTORY_RPC, ""):
        with pytest.raises(dead_letters.UnknownQueue) as refused:
            dead_letters.work_queue_of(wrong)
        assert str(refused.value).startswith(f"no dead-letter queue {wrong!r}: give a work queue (")
        assert topology.IMPORTER_RECORD_BATCH in str(refused.value)


def test_the_dead_letter_copy_says_why_and_forgets_earlier_travels() -> None:
    headers = dead_letters.dead_letter_headers(
        {"x-delivery-count": 4, "x-death": [{"reason": "rejected"}], "trace": "t1"},
        reason="x" * 5000,
        consumer="importer",
        queue=topology.IMPORTER_RECORD_BATCH,
        routing_key="record.batch",
        at=NOW,
    )
    assert headers["trace"] == "t1" and "x-delivery-count" not in headers and "x-death" not in headers
    assert len(headers[dead_letters.REASON]) == dead_letters.MAX_REASON
    assert headers[dead_letters.DEAD_LETTERED_AT] == "2026-11-30T12:00:00+00:00"
    assert headers[dead_letters.ROUTING_KEY] == "record.batch"
    again = dead_letters.retry_headers(headers)
    assert again == {"trace": "t1", dead_letters.RETRIES: 1}
    assert dead_letters.retry_headers(again)[dead_letters.RETRIES] == 2


def test_a_message_is_described_from_our_headers_or_else_from_rabbitmqs() -> None:
    ours = dead_letters.dead_letter_headers(
        {}, reason="cannot read X", consumer="c", queue=QUEUE, routing_key="fetch.completed", at=NOW
    )
    shown = dead_letters.describe(
        ours, message_id="m1", correlation_id="", routing_key=DLQ, size=7, now=NOW + timedelta(seconds=90)
    )
    assert (shown.reason, shown.event_type, shown.run_id, shown.age_seconds) == (
        "cannot read X",
        "fetch.completed",
        None,
        90.0,
    )
    by_rabbitmq = {
        "x-death": [
            {"reason": "delivery_limit", "time": NOW, "routing-keys": ["sync.due"], "queue": QUEUE},
            {"reason": "rejected", "time": NOW - timedelta(days=1), "routing-keys": ["old"]},
        ]
    }
    shown = dead_letters.describe(
        by_rabbitmq, message_id=None, correlation_id="run-1", routing_key=DLQ, size=0, now=NOW
    )
    assert (shown.reason, shown.event_type, shown.run_id, shown.dead_lettered_at) == (
        "dead-lettered by RabbitMQ (delivery_limit)",
        "sync.due",
        "run-1",
        NOW,
    )
    assert dead_letters.describe(
        None, message_id=None, correlation_id=None, routing_key=None, size=0, now=NOW
    )


# --- on the broker --------------------------------------------------------------------------------------


@dataclass
class Consumer:
    """History's queue with a handler that fails with a bug (while ``broken``) and otherwise records the
    runs it was given."""

    broker: RabbitBroker
    broken: bool = True
    handled: list[str] = field(default_factory=list)


@pytest.fixture
async def consumer(amqp_url: str) -> AsyncIterator[Consumer]:
    await declare_topology(amqp_url)
    broker = make_broker(amqp_url, consumer="history")
    state = Consumer(broker)

    @broker.subscriber(work_queue(QUEUE), EVENTS, decoder=any_event)
    async def on_event(event: Envelope) -> None:
        if isinstance(event, MessageRejected):
            return
        if state.broken:
            raise RuntimeError("a bug")
        assert isinstance(event, FetchCompleted)
        state.handled.append(event.run_id)

    async with broker:
        await broker.start()
        yield state


async def _dlq_of(amqp_url: str, count: int, timeout: float = 15.0) -> DeadLetterQueue:
    """History's DLQ once it holds ``count`` messages."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        [found] = [q for q in await dead_letters.list_dead_letters(amqp_url) if q.queue == QUEUE]
        if found.count == count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def _publish_raw(amqp_url: str, body: bytes, correlation_id: str | None = None) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(topology.EVENTS_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(body, correlation_id=correlation_id, message_id="poison-1"),
            routing_key=topology.FETCH_COMPLETED,
        )


@pytest.mark.integration
async def test_refused_messages_are_listed_with_reason_and_age_without_being_consumed(
    amqp_url: str, consumer: Consumer
) -> None:
    await _publish_raw(amqp_url, b"not json")  # no correlation id, as a stray publisher would
    await publish_event(consumer.broker, completed("run-2"))
    listed = await _dlq_of(amqp_url, 2)
    assert (listed.dlq, listed.count, len(listed.messages)) == (DLQ, 2, 2)
    poison, bug = sorted(listed.messages, key=lambda m: m.run_id or "")
    assert poison.run_id is None and poison.message_id == "poison-1"  # no run invented
    assert poison.reason.startswith("cannot read the event: the body is not JSON")
    assert bug.run_id == "run-2" and bug.reason == "RuntimeError: a bug"
    for message in listed.messages:
        assert message.event_type == topology.FETCH_COMPLETED and message.retries == 0
        assert message.age_seconds is not None and 0 <= message.age_seconds < 60
    # a listing takes nothing: the next one sees the same, and the other DLQs are empty
    again = await dead_letters.list_dead_letters(amqp_url)
    assert {q.queue: q.count for q in again} == {q: 2 if q == QUEUE else 0 for q in topology.WORK_QUEUES}
    assert await dead_letters.list_dead_letters(amqp_url, limit=1) != []
    [one] = [q for q in await dead_letters.list_dead_letters(amqp_url, limit=1) if q.queue == QUEUE]
    assert (one.count, len(one.messages)) == (2, 1)


@pytest.mark.integration
async def test_a_retry_puts_them_back_and_they_are_consumed(amqp_url: str, consumer: Consumer) -> None:
    for run_id in ("run-a", "run-b"):
        await publish_event(consumer.broker, completed(run_id))
    assert (await _dlq_of(amqp_url, 2)).count == 2
    # refused again at once: a retry takes what was there when it began, and does not loop
    retried = await dead_letters.retry(amqp_url, QUEUE)
    assert (retried.queue, retried.dlq, retried.retried) == (QUEUE, DLQ, 2)
    back = await _dlq_of(amqp_url, 2)
    assert back.count == 2 and {m.retries for m in back.messages} == {1}
    consumer.broken = False  # the bug fixed
    retried = await dead_letters.retry(amqp_url, DLQ)  # by its DLQ's name too
    assert retried.retried == 2
    for _ in range(100):
        if len(consumer.handled) == 2:
            break
        await asyncio.sleep(0.1)
    assert sorted(consumer.handled) == ["run-a", "run-b"]  # each once: none lost, none doubled
    await asyncio.sleep(0.3)
    assert sorted(consumer.handled) == ["run-a", "run-b"]
    assert (await _dlq_of(amqp_url, 0)).count == 0


@pytest.mark.integration
async def test_a_retried_message_keeps_its_identity(amqp_url: str) -> None:
    """What a retry publishes is the message as first sent: id, run id, type, body; no death record."""
    await declare_topology(amqp_url)
    await _publish_raw(amqp_url, b"{}", correlation_id="run-9")
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(QUEUE)
        refused = await queue.get(timeout=5)
        await refused.reject(requeue=False)  # dead-lettered by RabbitMQ itself: x-death only
        [listed] = [q for q in await dead_letters.list_dead_letters(amqp_url) if q.queue == QUEUE]
        assert listed.count == 1 and listed.messages[0].reason == "dead-lettered by RabbitMQ (rejected)"
        assert listed.messages[0].event_type == topology.FETCH_COMPLETED
        assert (await dead_letters.retry(amqp_url, QUEUE)).retried == 1
        back = await queue.get(timeout=5)
        assert (back.body, back.message_id, back.correlation_id) == (b"{}", "poison-1", "run-9")
        assert back.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert back.headers.get("x-death") is None and back.headers[dead_letters.RETRIES] == 1
        await back.ack()


@pytest.mark.integration
async def test_a_purge_drops_them_and_says_how_many(amqp_url: str, consumer: Consumer) -> None:
    await _publish_raw(amqp_url, b"not json")
    await publish_event(consumer.broker, completed("run-3"))
    assert (await _dlq_of(amqp_url, 2)).count == 2
    purged = await dead_letters.purge(amqp_url, QUEUE)
    assert (purged.queue, purged.dlq, purged.purged) == (QUEUE, DLQ, 2)
    assert (await _dlq_of(amqp_url, 0)).count == 0
    assert (await dead_letters.purge(amqp_url, DLQ)).purged == 0
    with pytest.raises(dead_letters.UnknownQueue):
        await dead_letters.purge(amqp_url, "recruit_sync.nowhere")
