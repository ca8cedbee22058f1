"""RabbitMQ with FastStream: the broker, the topology, publishing events, and consuming them safely.

* ``declare_topology`` declares everything in ``contracts.topology`` (idempotent; every service and
  ``recruit-sync migrate`` call it, so a publish never finds a queue missing).
* ``publish_event`` sets ``message_id`` = event id, the correlation id and persistent delivery.
* Subscribers take typed events: ``decoder(EventClass)`` (or ``any_event``) turns a body into its
  contract, and ``DeadLetters``, a middleware on every broker, handles what goes wrong: bad input is
  dead-lettered at once and announced with ``MessageRejected`` (so the run fails with the reason);
  transient failures (database or network down) are requeued with a back-off until the delivery
  limit, then treated as bad input. One consumer path for every service (docs/adr/0016).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aio_pika
import asyncpg
import orjson
import structlog
from faststream import BaseMiddleware
from faststream.exceptions import AckMessage, HandlerException, NackMessage, RejectMessage
from faststream.message import StreamMessage
from faststream.rabbit import Channel, ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from pydantic import ValidationError

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import MessageRejected, UnreadableEvent, read_event
from recruit_sync.runtime.journal import Retention, declare_journal

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
    """Subscribers without a ``decoder`` of their own read ``message.body`` themselves (RPC).

    FastStream would otherwise ``json.loads`` every body first: a second, slower parse of each
    1,000-record batch, whose result it keeps alive for as long as the message object lives.
    """
    return None


def make_broker(amqp_url: str, *, consumer: str, prefetch: int = 4) -> RabbitBroker:
    """The broker of service ``consumer``, with ``DeadLetters`` around every subscriber."""
    broker = RabbitBroker(
        amqp_url,
        default_channel=Channel(prefetch_count=prefetch, on_return_raises=True),
        graceful_timeout=30.0,
        logger=None,
        decoder=_leave_body_undecoded,
    )
    broker.add_middleware(functools.partial(DeadLetters, consumer=consumer, broker=broker))
    return broker


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


async def declare_topology(amqp_url: str, retention: Retention | None = None) -> None:
    """Exchanges, work queues with every binding, dead-letter queues, RPC queues and the journal (with
    ``retention``, by default the configured one)."""
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
        await declare_journal(connection, retention or Retention.from_env())
        journal = await channel.get_queue(topology.JOURNAL_STREAM, ensure=False)
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


class BadInput(ValueError):
    """A body that is no event the subscriber reads: dead-lettered at once, never retried."""


def decoder(event_cls: type[E]) -> Callable[[StreamMessage[Any]], Awaitable[E]]:
    """A FastStream decoder giving the subscriber its typed event: orjson, then the contract model
    (parsing once; FastStream's own decoder would ``json.loads`` a batch a second time)."""

    async def decode(message: StreamMessage[Any]) -> E:
        try:
            event = event_cls.model_validate(orjson.loads(message.body))
        except (ValidationError, orjson.JSONDecodeError) as exc:
            raise BadInput(f"cannot read {event_cls.__name__}: {_short(exc)}") from None
        _bind_run(event)
        return event

    return decode


async def any_event(message: StreamMessage[Any]) -> Envelope:
    """A decoder for a queue that carries several event types (history's): by the body's ``type`` and
    ``version``, older versions upgraded (``contracts.events.read_event``)."""
    try:
        event = read_event(orjson.loads(message.body), message.raw_message.routing_key)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"cannot read the event: the body is not JSON ({exc})") from None
    except (ValidationError, UnreadableEvent) as exc:
        raise BadInput(f"cannot read the event: {_short(exc)}") from None
    _bind_run(event)
    return event


def _bind_run(event: Envelope) -> None:
    """Every log line of the delivery's handling names its run and sync (a delivery has its own task)."""
    structlog.contextvars.bind_contextvars(
        run_id=getattr(event, "run_id", None) or event.correlation_id, sync_id=getattr(event, "sync_id", None)
    )


def _delivery_count(message: StreamMessage[Any]) -> int:
    headers = message.headers or {}
    try:
        return int(headers.get("x-delivery-count", 0))
    except (TypeError, ValueError):
        return 0


class DeadLetters(BaseMiddleware):
    """What happens to a delivery whose handler (or decoder) fails, for every subscriber of a service.

    * transient errors (``TRANSIENT_ERRORS``): back off, requeue; after ``DELIVERY_LIMIT`` tries, bad input;
    * anything else: the message is dead-lettered (``<queue>.dlq``) and announced with ``MessageRejected``,
      so history fails its run with the reason instead of waiting for it. A rejected ``MessageRejected``
      is not announced again: that could loop for as long as its cause lasts.
    """

    def __init__(self, msg: Any, /, *, context: Any, consumer: str, broker: RabbitBroker) -> None:
        super().__init__(msg, context=context)
        self.consumer = consumer
        self.broker = broker

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
        with structlog.contextvars.bound_contextvars(
            run_id=msg.raw_message.correlation_id, event_type=msg.raw_message.routing_key
        ):
            try:
                return await call_next(msg)
            except (AckMessage, NackMessage, RejectMessage, HandlerException):
                raise
            except TRANSIENT_ERRORS as exc:
                attempts = _delivery_count(msg) + 1
                if attempts >= topology.DELIVERY_LIMIT:
                    await self._reject(msg, f"gave up after {attempts} tries: {exc!r}")
                log.warning("transient failure, requeued", error=repr(exc), attempt=attempts)
                await asyncio.sleep(min(0.2 * 2**attempts, 5.0))  # back off before the redelivery
                raise NackMessage(requeue=True) from exc
            except BadInput as exc:
                await self._reject(msg, str(exc))
            except Exception as exc:
                log.exception("handler failed")
                await self._reject(msg, f"{type(exc).__name__}: {exc}")
            finally:
                # The message outlives its handling: a timer scheduled meanwhile (asyncpg's pool
                # schedules one, 5 minutes long, whenever a connection is released) keeps a copy of
                # the context, and FastStream's context holds the message, whose cache holds the
                # decoded event: a 1,000-record batch per delivery, for minutes (measured: history's
                # peak RSS 136 MB instead of 67 MB in a 200,000-record run). Drop the decoded event.
                msg.clear_cache()

    async def _reject(self, msg: StreamMessage[Any], reason: str) -> None:
        queue = self._queue()
        log.error(
            "message dead-lettered",
            consumer=self.consumer,
            queue=queue,
            reason=reason,
            message_id=msg.message_id,
        )
        if msg.raw_message.routing_key != topology.MESSAGE_REJECTED:
            run_id = msg.raw_message.correlation_id or None  # (FastStream falls back on the message id)
            rejected = MessageRejected(
                consumer=self.consumer,
                queue=queue,
                run_id=run_id,
                message_id=msg.message_id,
                reason=reason,
                correlation_id=run_id,
            )
            await publish_event(self.broker, rejected)
        raise RejectMessage(requeue=False)

    def _queue(self) -> str:
        subscriber = self.context.get("handler_")
        queue = getattr(subscriber, "queue", None)
        return str(getattr(queue, "name", "")) or "(unknown queue)"


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        more = exc.error_count() - len(parts)
        return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
    return str(exc)
