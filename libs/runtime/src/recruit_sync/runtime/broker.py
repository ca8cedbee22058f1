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
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import aio_pika
import aiormq
import asyncpg
import orjson
import structlog
from faststream import BaseMiddleware
from faststream.exceptions import AckMessage, HandlerException, NackMessage, RejectMessage
from faststream.message import StreamMessage
from faststream.rabbit import Channel, ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from prometheus_client import REGISTRY
from pydantic import ValidationError

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import MessageRejected, UnreadableEvent, read_event
from recruit_sync.runtime import dead_letters
from recruit_sync.runtime.journal import Retention, declare_journal
from recruit_sync.runtime.tracing import telemetry_middleware

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


DEFAULT_SHUTDOWN_SECONDS = 20.0
# After a broker restart a service consumes again within this long of the broker's return (aio-pika's
# robust connection retries at this pace; its default, 5 s, was half of issue 10's 10 s bound).
RECONNECT_SECONDS = 1.0


def shutdown_seconds_from_env() -> float:
    """``RECRUIT_SYNC_SHUTDOWN_SECONDS``: how long a stopping service lets its deliveries in flight
    finish. What has not finished by then is given back to its queue unacknowledged, when the
    connection closes, and redelivered (the consumers are idempotent, ADR 0002): never lost."""
    value = float(os.environ.get("RECRUIT_SYNC_SHUTDOWN_SECONDS", DEFAULT_SHUTDOWN_SECONDS))
    if not 0 < value <= 3600:
        raise ValueError(f"RECRUIT_SYNC_SHUTDOWN_SECONDS must be between 0 and 3600 seconds, not {value:g}")
    return value


def make_broker(
    amqp_url: str, *, consumer: str, prefetch: int = 4, graceful_timeout: float | None = None
) -> RabbitBroker:
    """The broker of service ``consumer``, with ``DeadLetters`` around every subscriber. On SIGTERM
    (FastStream's ``app.run``) it stops taking deliveries and waits up to ``graceful_timeout`` seconds
    (``RECRUIT_SYNC_SHUTDOWN_SECONDS`` by default) for those in flight before it closes the connection."""
    broker = RabbitBroker(
        amqp_url,
        default_channel=Channel(prefetch_count=prefetch, on_return_raises=True),
        graceful_timeout=graceful_timeout if graceful_timeout is not None else shutdown_seconds_from_env(),
        logger=None,
        decoder=_leave_body_undecoded,
        reconnect_interval=RECONNECT_SECONDS,
    )
    broker.add_middleware(functools.partial(DeadLetters, consumer=consumer, broker=broker))
    # message counts and latencies (faststream_* on the ops port's /metrics), around DeadLetters: it
    # sees how each delivery was settled (acked, nacked, rejected)
    broker.insert_middleware(RabbitPrometheusMiddleware(registry=REGISTRY, app_name=consumer))
    # outermost: a delivery's span covers its handling, dead-lettering and announcement included
    broker.insert_middleware(telemetry_middleware())
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
    # pydantic-core's JSON serialiser, straight to bytes: 2.5 times faster than a python-mode dump then
    # orjson on a record batch, 1.2 times on a batch's outcomes (pydantic 2.14)
    return event.__pydantic_serializer__.to_json(event, by_alias=True)


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
        # (orjson first: a batch's records are free-form objects, which pydantic-core's own JSON parsing
        # builds twice as slowly; typed contents are the other way round, see ``read_event``)
        try:
            event = event_cls.model_validate(orjson.loads(message.body))
        except (ValidationError, orjson.JSONDecodeError) as exc:
            raise BadInput(f"cannot read {event_cls.__name__}: {_short(exc)}") from None
        _bind_run(event)
        return event

    return decode


async def any_event(message: StreamMessage[Any]) -> Envelope:
    """A decoder for a queue that carries several event types (history's): by the body's ``type`` and
    ``version``, older versions upgraded (``contracts.events.read_event``, which parses the current
    version of the routing key's type in one pass)."""
    try:
        event = read_event(message.body, message.raw_message.routing_key)
    except (ValidationError, UnreadableEvent) as exc:
        raise BadInput(f"cannot read the event: {_short(exc)}") from None
    _bind_run(event)
    return event


def _bind_run(event: Envelope) -> None:
    """Every log line of the delivery's handling names its run and sync (a delivery has its own task)."""
    summary = getattr(event, "summary", None)  # RunCompleted names them in its summary
    structlog.contextvars.bind_contextvars(
        run_id=getattr(event, "run_id", None) or getattr(summary, "run_id", None) or event.correlation_id,
        sync_id=getattr(event, "sync_id", None) or getattr(summary, "sync_id", None),
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

    The dead-lettered message is a copy carrying the reason in its headers (``runtime.dead_letters``, which
    ``recruit-sync dlq list`` reads), the original acked once the broker has confirmed the copy.
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
        with_reason = await self._dead_letter_with_reason(msg, queue, reason)
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
        if with_reason:
            raise AckMessage()  # its copy, with the reason, is in the DLQ
        raise RejectMessage(requeue=False)  # RabbitMQ dead-letters it, with its own reason only

    async def _dead_letter_with_reason(self, msg: StreamMessage[Any], queue: str, reason: str) -> bool:
        """Publish a copy of the message to its queue's dead-letter exchange, its headers saying why
        (``dead_letters.dead_letter_headers``, read by ``recruit-sync dlq list``): a rejected message
        carries only RabbitMQ's reason (``rejected``). Through the channel it came on, with publisher
        confirms: True once the broker has the copy, and the original may be acked. A crash before the
        ack redelivers the original, which is refused again: a second copy, nothing lost. False (the
        caller rejects instead) for a queue without a dead-letter exchange, or when the copy fails."""
        arguments = getattr(getattr(self.context.get("handler_"), "queue", None), "arguments", None) or {}
        exchange = arguments.get("x-dead-letter-exchange")
        if not exchange:
            return False
        raw = msg.raw_message
        properties = raw.properties
        properties.headers = dead_letters.dead_letter_headers(
            raw.headers,
            reason=reason,
            consumer=self.consumer,
            queue=queue,
            routing_key=raw.routing_key,
            at=datetime.now(UTC),
        )
        properties.delivery_mode = aio_pika.DeliveryMode.PERSISTENT.value
        properties.expiration = None
        properties.user_id = None  # the broker checks it against this connection's user
        try:
            confirmed = await raw.channel.basic_publish(
                raw.body,
                exchange=exchange,
                routing_key=arguments.get("x-dead-letter-routing-key") or raw.routing_key or "",
                properties=properties,
                mandatory=True,
            )
        except (aiormq.exceptions.AMQPError, aio_pika.exceptions.ChannelInvalidStateError, OSError) as exc:
            log.warning("could not copy the message to its DLQ; rejecting it", error=repr(exc))
            return False
        return isinstance(confirmed, aiormq.spec.Basic.Ack)

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
