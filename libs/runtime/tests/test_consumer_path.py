"""The one consumer path (runtime.broker): typed events in, bad input dead-lettered and announced.

In memory (``TestRabbitBroker``): the decoder and the ``DeadLetters`` middleware run as they do on the
real broker; acks and rejects do nothing there, so what is checked is the announcement and the types.
"""

from __future__ import annotations

from datetime import UTC, datetime

from faststream.rabbit import RabbitQueue, TestRabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import FetchCompleted, MessageRejected
from recruit_sync.runtime.broker import EVENTS, any_event, decoder, encode_event, make_broker

COMPLETED = FetchCompleted(
    run_id="run-1",
    sync_id="sync-1",
    batch_count=1,
    record_count=2,
    api_calls=1,
    credits=3,
    started_at=datetime(2026, 11, 30, tzinfo=UTC),
    correlation_id="run-1",
)


def _broker_with_handler(received: list[object], fail: Exception | None = None):  # type: ignore[no-untyped-def]
    broker = make_broker("amqp://guest:guest@localhost:5672/", consumer="tester")
    rejected: list[MessageRejected] = []

    @broker.subscriber("work", decoder=decoder(FetchCompleted))
    async def on_fetch_completed(event: FetchCompleted) -> None:
        if fail is not None:
            raise fail
        received.append(event)

    @broker.subscriber(
        RabbitQueue("rejections", routing_key=topology.MESSAGE_REJECTED),
        EVENTS,
        decoder=decoder(MessageRejected),
    )
    async def on_rejected(event: MessageRejected) -> None:
        rejected.append(event)

    return broker, rejected


async def test_a_handler_takes_its_typed_event() -> None:
    received: list[object] = []
    broker, rejected = _broker_with_handler(received)
    async with TestRabbitBroker(broker):
        await broker.publish(encode_event(COMPLETED), "work")
    assert received == [COMPLETED]
    assert rejected == []


async def test_a_body_of_the_wrong_shape_is_refused_and_announced_naming_the_problem() -> None:
    received: list[object] = []
    broker, rejected = _broker_with_handler(received)
    async with TestRabbitBroker(broker):
        await broker.publish(b'{"type": "fetch.completed", "run_id": 7}', "work", correlation_id="run-9")
    assert received == []
    [announced] = rejected
    assert (announced.consumer, announced.run_id) == ("tester", "run-9")
    assert announced.reason.startswith("cannot read FetchCompleted: run_id: Input should be a valid string")


async def test_a_body_that_is_not_json_is_refused_too() -> None:
    broker, rejected = _broker_with_handler([])
    async with TestRabbitBroker(broker):
        await broker.publish(b"not json", "work")
    [announced] = rejected
    assert announced.reason.startswith("cannot read FetchCompleted: ")


async def test_a_failing_handler_is_announced_with_the_error() -> None:
    broker, rejected = _broker_with_handler([], fail=KeyError("boom"))
    async with TestRabbitBroker(broker):
        await broker.publish(encode_event(COMPLETED), "work", correlation_id="run-1")
    [announced] = rejected
    assert announced.reason == "KeyError: 'boom'"
    assert announced.run_id == "run-1"


async def test_any_event_reads_each_type_by_its_body() -> None:
    class Message:
        body = encode_event(COMPLETED)

        class raw_message:
            routing_key = "somewhere.else"

    assert await any_event(Message()) == COMPLETED  # type: ignore[arg-type]


async def test_a_handled_event_is_not_kept_alive_by_a_timer_set_while_handling_it() -> None:
    """asyncpg's pool schedules a 5-minute timer whenever a connection is released; the timer keeps a
    copy of the context, which holds the message; the message must not hold the decoded event."""
    import asyncio
    import gc

    broker = make_broker("amqp://guest:guest@localhost:5672/", consumer="tester")
    timers: list[asyncio.TimerHandle] = []

    @broker.subscriber("work", decoder=decoder(FetchCompleted))
    async def handle(event: FetchCompleted) -> None:
        timers.append(asyncio.get_running_loop().call_later(300, lambda: None))

    async with TestRabbitBroker(broker):
        for _ in range(3):
            await broker.publish(encode_event(COMPLETED), "work")
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, FetchCompleted) and o is not COMPLETED]
    for timer in timers:
        timer.cancel()
    assert len(timers) == 3
    assert alive == []
