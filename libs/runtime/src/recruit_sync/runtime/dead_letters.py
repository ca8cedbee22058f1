"""Dead-lettered messages: what each ``<queue>.dlq`` holds and why, putting them back, dropping them.

``recruit-sync dlq list | retry QUEUE | purge QUEUE`` (INTERFACE.md). This is broker administration, not
a service's data, so the HTTP API calls these functions itself, with its own broker URL and for admins
only, instead of asking a service over RPC (ADR 0003 routes the services' *data* through them; no
service owns the dead-letter queues, and each would only relay the same broker calls).

How a message gets into a DLQ:

* ``runtime.broker.DeadLetters`` (a consumer refused it: bad input, a failing handler, a transient error
  that outlasted the delivery limit) publishes a copy to the queue's dead-letter exchange with headers
  naming the reason, the consumer, the original routing key and the time (``dead_letter_headers``),
  then acks the original;
* RabbitMQ itself dead-letters what no consumer answered for: a message whose consumer died on it
  ``DELIVERY_LIMIT`` times, or one a consumer rejected when the copy could not be published. Such a
  message carries only RabbitMQ's ``x-death`` header, so its reason is RabbitMQ's (``delivery_limit``,
  ``rejected``) and its time is the ``x-death`` time.

Listing does not consume: it takes up to ``limit`` messages with ``basic.get`` unacknowledged and then
closes its channel, which gives them all back (a message held by a listing is not seen by a retry running
at that moment; both are an operator's, and rare).

A retry moves each message back with a publish to the default exchange, routed to the work queue only (not
through the events exchange: the other consumers of that event had it already), confirmed by the broker
before the DLQ copy is acknowledged. A crash between the two leaves the message in both queues, and a
later retry delivers it twice: at least once, never lost, and the consumers are idempotent (ADR 0002).
A retry takes at most the number of messages the DLQ held when it began, so a message its consumer
refuses again at once is not retried in a loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from recruit_sync.contracts import topology
from recruit_sync.contracts.resources import (
    DeadLetter,
    DeadLetterQueue,
    DeadLettersPurged,
    DeadLettersRetried,
)

# what DeadLetters adds to the copy it dead-letters
REASON = "x-recruit-sync-reason"
CONSUMER = "x-recruit-sync-consumer"
QUEUE = "x-recruit-sync-queue"
ROUTING_KEY = "x-recruit-sync-routing-key"
DEAD_LETTERED_AT = "x-recruit-sync-dead-lettered-at"
RETRIES = "x-recruit-sync-retries"  # added by a retry, so a message back in the DLQ says it was tried again

MAX_REASON = 2000  # characters of a reason kept in a header (a handler's error can be long)
DEFAULT_LIMIT = 100  # messages shown per DLQ

# headers a message gathers on its way that must not follow it into its next queue: RabbitMQ's death
# records, and the delivery count a quorum queue stamps (DeadLetters would count a retried message's
# earlier attempts against it)
_DEATH_HEADERS = frozenset(
    {
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
        "x-delivery-count",
    }
)
_OURS = frozenset({REASON, CONSUMER, QUEUE, ROUTING_KEY, DEAD_LETTERED_AT})


class UnknownQueue(ValueError):
    """Not a work queue nor a work queue's DLQ; names the ones there are."""

    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(topology.WORK_QUEUES))
        super().__init__(f"no dead-letter queue {name!r}: give a work queue ({known}) or its '.dlq'")


def work_queue_of(name: str) -> str:
    """The work queue ``name`` means: the work queue itself or its dead-letter queue."""
    name = name.strip()
    if name in topology.WORK_QUEUES:
        return name
    for queue in topology.WORK_QUEUES:
        if name == topology.dlq_name(queue):
            return queue
    raise UnknownQueue(name)


# --- headers (pure) -----------------------------------------------------------------------------------


def dead_letter_headers(
    headers: Mapping[str, Any] | None,
    *,
    reason: str,
    consumer: str,
    queue: str,
    routing_key: str | None,
    at: datetime,
) -> dict[str, Any]:
    """The headers of the copy ``DeadLetters`` sends to the DLQ: the message's own, without the death
    records and delivery count of its earlier travels, and why, by whom and when it was refused."""
    kept = {k: v for k, v in (headers or {}).items() if k not in _DEATH_HEADERS and k not in _OURS}
    return {
        **kept,
        REASON: reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…",
        CONSUMER: consumer,
        QUEUE: queue,
        ROUTING_KEY: routing_key or "",
        DEAD_LETTERED_AT: at.astimezone(UTC).isoformat(),
    }


def retry_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The headers of a message put back into its work queue: its own, without any dead-letter record,
    and one more retry counted."""
    kept = {k: v for k, v in (headers or {}).items() if k not in _DEATH_HEADERS and k not in _OURS}
    return {**kept, RETRIES: _int(kept.get(RETRIES)) + 1}


def describe(
    headers: Mapping[str, Any] | None,
    *,
    message_id: str | None,
    correlation_id: str | None,
    routing_key: str | None,
    size: int,
    now: datetime,
) -> DeadLetter:
    """What ``dlq list`` shows of one message: from ``DeadLetters``'s headers, or else RabbitMQ's
    ``x-death`` record of the last time it was dead-lettered."""
    headers = headers or {}
    death = _last_death(headers)
    reason = headers.get(REASON)
    if not isinstance(reason, str) or not reason:
        cause = death.get("reason") or headers.get("x-first-death-reason") or "unknown"
        reason = f"dead-lettered by RabbitMQ ({_text(cause)})"
    at = _time(headers.get(DEAD_LETTERED_AT)) or _time(death.get("time"))
    original_key = headers.get(ROUTING_KEY) or _first(death.get("routing-keys")) or routing_key
    return DeadLetter(
        message_id=message_id or None,
        run_id=correlation_id or None,
        event_type=_text(original_key) or None,
        reason=reason,
        dead_lettered_at=at,
        age_seconds=None if at is None else round(max(0.0, (now - at).total_seconds()), 1),
        size=size,
        retries=_int(headers.get(RETRIES)),
    )


def _last_death(headers: Mapping[str, Any]) -> Mapping[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        return deaths[0]  # RabbitMQ puts the most recent first
    return {}


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str) and value:
        try:
            return _time(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


# --- on the broker ------------------------------------------------------------------------------------


async def list_dead_letters(amqp_url: str, limit: int = DEFAULT_LIMIT) -> list[DeadLetterQueue]:
    """Every work queue's DLQ, with its message count and its first ``limit`` messages, oldest first
    (each DLQ in its own channel, closed before the next: the messages taken are given back)."""
    found = []
    connection = await aio_pika.connect(amqp_url)
    try:
        for queue in topology.WORK_QUEUES:
            channel = await connection.channel()
            try:
                found.append(await _peek(channel, queue, limit))
            finally:
                await channel.close()  # gives back every message taken, unacknowledged
    finally:
        await connection.close()
    return found


async def _peek(channel: AbstractChannel, queue: str, limit: int) -> DeadLetterQueue:
    dlq = await channel.declare_queue(topology.dlq_name(queue), passive=True)
    count = dlq.declaration_result.message_count or 0
    now = datetime.now(UTC)
    shown: list[DeadLetter] = []
    while len(shown) < min(limit, count):
        message = await dlq.get(no_ack=False, fail=False)
        if message is None:
            break
        shown.append(_describe_message(message, now))
    shown.sort(key=lambda m: m.dead_lettered_at or now)
    return DeadLetterQueue(queue=queue, dlq=dlq.name, count=max(count, len(shown)), messages=shown)


def _describe_message(message: AbstractIncomingMessage, now: datetime) -> DeadLetter:
    return describe(
        message.headers,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        routing_key=message.routing_key,
        size=len(message.body),
        now=now,
    )


async def retry(amqp_url: str, name: str) -> DeadLettersRetried:
    """Put the DLQ's messages back into their work queue (``name``: the work queue or its DLQ)."""
    queue = work_queue_of(name)
    connection = await aio_pika.connect(amqp_url)
    try:
        # publisher confirms (aio-pika's default): a publish returns once the broker has the message
        channel = await connection.channel(on_return_raises=True)
        dlq = await channel.declare_queue(topology.dlq_name(queue), passive=True)
        await channel.declare_queue(queue, passive=True)  # unroutable publishes would be lost to a typo
        retried = 0
        for _ in range(dlq.declaration_result.message_count or 0):
            message = await dlq.get(no_ack=False, fail=False)
            if message is None:
                break
            await channel.default_exchange.publish(_again(message), routing_key=queue, mandatory=True)
            await message.ack()
            retried += 1
    finally:
        await connection.close()
    return DeadLettersRetried(queue=queue, dlq=topology.dlq_name(queue), retried=retried)


def _again(message: AbstractIncomingMessage) -> aio_pika.Message:
    """The message as it was first published (the same id, run id, type and body), persistent, with
    its dead-letter records replaced by a retry count. No expiration or user id: neither should stop it
    reaching its queue this time."""
    return aio_pika.Message(
        message.body,
        headers=retry_headers(message.headers),
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )


async def purge(amqp_url: str, name: str) -> DeadLettersPurged:
    """Drop every message of the DLQ (``name``: the work queue or its DLQ); answers how many."""
    queue = work_queue_of(name)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(topology.dlq_name(queue), passive=True)
        purged = await dlq.purge()
    finally:
        await connection.close()
    return DeadLettersPurged(queue=queue, dlq=dlq.name, purged=int(purged.message_count or 0))


# what a caller of these functions may meet when the broker is not there or refuses (OSError covers a
# refused or dropped connection)
BROKER_ERRORS: tuple[type[BaseException], ...] = (aiormq.exceptions.AMQPError, OSError)
