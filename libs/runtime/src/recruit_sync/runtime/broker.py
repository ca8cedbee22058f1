"""RabbitMQ with FastStream: the broker, the topology, publishing events, and consuming them safely.

* ``declare_topology`` declares everything in ``contracts.topology`` (idempotent; every service and
  ``recruit-sync migrate`` call it, so a publish never finds a queue missing).
* ``publish_event`` sets ``message_id`` = event id, the correlation id and persistent delivery.
* ``consume`` decodes one delivery into its contract and runs a handler. Bad input is dead-lettered at
  once and announced with ``MessageRejected`` (so the run fails with the reason); transient failures
  (database or network down) are requeued until the delivery limit, then treated as bad input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aio_pika
import asyncpg
import orjson
import structlog
from faststream.exceptions import NackMessage, RejectMessage
from faststream.rabbit import Channel, ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.message import RabbitMessage
from pydantic import ValidationError

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import MessageRejected

log = structlog.get_logger()

E = TypeVar("E", bound=Envelope)

EVENTS = RabbitExchange(topology.EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    aio_pika.exceptions.AMQPConnectionError,
)


async def _leave_body_undecoded(*_: Any) -> None:
    """Subscribers read ``message.body`` themselves (``consume`` validates it with orjson + pydantic).

    FastStream would otherwise ``json.loads`` every body first: a second, slower parse of each
    1,000-record batch, whose result it keeps alive for as long as the message object lives.
    """
    return None


def make_broker(amqp_url: str, prefetch: int = 4) -> RabbitBroker:
    return RabbitBroker(
        amqp_url,
        default_channel=Channel(prefetch_count=prefetch, on_return_raises=True),
        graceful_timeout=30.0,
        logger=None,
        decoder=_leave_body_undecoded,
    )


def _work_queue_arguments(name: str) -> dict[str, Any]:
    return {
        "x-delivery-limit": topology.DELIVERY_LIMIT,
        "x-dead-letter-exchange": topology.DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": topology.dlq_name(name),
    }


def work_queue(name: str) -> RabbitQueue:
    """A durable quorum work queue bound to the events exchange with its first routing key."""
    keys = topology.WORK_QUEUES[name]
    queue: RabbitQueue = RabbitQueue(  # type: ignore[call-overload]
        name,
        queue_type=QueueType.QUORUM,
        arguments=_work_queue_arguments(name),
        routing_key=keys[0],
    )
    return queue


RPC_QUEUE_ARGUMENTS: dict[str, Any] = {"x-message-ttl": 60_000}


def rpc_queue(name: str) -> RabbitQueue:
    queue: RabbitQueue = RabbitQueue(name, durable=True, arguments=RPC_QUEUE_ARGUMENTS)  # type: ignore[call-overload]
    return queue


async def declare_topology(amqp_url: str) -> None:
    """Exchanges, work queues with every binding, dead-letter queues, RPC queues and the journal."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        events = await channel.declare_exchange(
            topology.EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        dlx = await channel.declare_exchange(
            topology.DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
        )
        for name, keys in topology.WORK_QUEUES.items():
            dlq = await channel.declare_queue(
                topology.dlq_name(name), durable=True, arguments={"x-queue-type": "quorum"}
            )
            await dlq.bind(dlx, routing_key=topology.dlq_name(name))
            queue = await channel.declare_queue(
                name, durable=True, arguments={"x-queue-type": "quorum", **_work_queue_arguments(name)}
            )
            for key in keys:
                await queue.bind(events, routing_key=key)
        for name in topology.RPC_QUEUES:
            await channel.declare_queue(name, durable=True, arguments=RPC_QUEUE_ARGUMENTS)
        journal = await channel.declare_queue(
            topology.JOURNAL_STREAM,
            durable=True,
            arguments={
                "x-queue-type": "stream",
                "x-max-age": topology.JOURNAL_MAX_AGE,
                "x-max-length-bytes": topology.JOURNAL_MAX_BYTES,
            },
        )
        await journal.bind(events, routing_key="#")
    finally:
        await connection.close()


def encode_event(event: Envelope) -> bytes:
    # python-mode dump + orjson (which writes UUIDs, datetimes and enums itself) is ~1.5x faster than
    # pydantic's json mode on record batches
    return orjson.dumps(event.model_dump(by_alias=True), option=orjson.OPT_NON_STR_KEYS, default=str)


async def publish_event(broker: RabbitBroker, event: Envelope) -> None:
    await broker.publish(
        encode_event(event),
        exchange=EVENTS,
        routing_key=event.ROUTING_KEY,
        content_type="application/json",
        **event.amqp_properties(),
    )


def _delivery_count(message: RabbitMessage) -> int:
    headers = message.headers or {}
    try:
        return int(headers.get("x-delivery-count", 0))
    except (TypeError, ValueError):
        return 0


async def consume(
    broker: RabbitBroker,
    message: RabbitMessage,
    event_cls: type[E],
    *,
    consumer: str,
    queue: str,
    handler: Callable[[E], Awaitable[None]],
) -> None:
    """Decode ``message`` as ``event_cls`` and run ``handler``; see the module docstring for failures."""
    run_id = message.correlation_id
    try:
        event = event_cls.model_validate(orjson.loads(message.body))
    except (ValidationError, orjson.JSONDecodeError) as exc:
        await reject(
            broker, message, consumer, queue, run_id, f"cannot read {event_cls.__name__}: {_short(exc)}"
        )
    run_id = getattr(event, "run_id", None) or run_id
    bound = structlog.contextvars.bound_contextvars(
        run_id=run_id, sync_id=getattr(event, "sync_id", None), event_type=event.ROUTING_KEY
    )
    with bound:
        try:
            await handler(event)
        except TRANSIENT_ERRORS as exc:
            attempts = _delivery_count(message) + 1
            if attempts >= topology.DELIVERY_LIMIT:
                await reject(
                    broker, message, consumer, queue, run_id, f"gave up after {attempts} tries: {exc!r}"
                )
            log.warning("transient failure, requeued", error=repr(exc), attempt=attempts)
            await asyncio.sleep(min(0.2 * 2**attempts, 5.0))  # back off before the redelivery
            raise NackMessage(requeue=True) from exc
        except (NackMessage, RejectMessage):
            raise
        except Exception as exc:
            log.exception("handler failed")
            await reject(broker, message, consumer, queue, run_id, f"{type(exc).__name__}: {exc}")


async def reject(
    broker: RabbitBroker,
    message: RabbitMessage,
    consumer: str,
    queue: str,
    run_id: str | None,
    reason: str,
) -> None:
    """Dead-letter ``message`` and announce it, so the run it belongs to fails with ``reason``.

    A rejected ``MessageRejected`` is not announced again: that could loop for as long as its cause lasts.
    """
    log.error(
        "message dead-lettered", consumer=consumer, queue=queue, reason=reason, message_id=message.message_id
    )
    if message.raw_message.routing_key == topology.MESSAGE_REJECTED:
        raise RejectMessage(requeue=False)
    await publish_event(
        broker,
        MessageRejected(
            consumer=consumer,
            queue=queue,
            run_id=run_id,
            message_id=message.message_id,
            reason=reason,
            correlation_id=run_id,
        ),
    )
    raise RejectMessage(requeue=False)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        more = exc.error_count() - len(parts)
        return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
    return str(exc)
