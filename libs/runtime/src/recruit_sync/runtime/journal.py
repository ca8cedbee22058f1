"""The journal stream: its retention, and one run's events read back from it (docs/adr/0019), without
disturbing anyone. History reads it for ``replay``, the importer for ``replay --dry-run``.

Retention is configured (``RECRUIT_SYNC_JOURNAL_MAX_AGE``, ``RECRUIT_SYNC_JOURNAL_MAX_BYTES``) and applied
when the stream is created. RabbitMQ refuses to redeclare a queue with other arguments, so a journal created
with other values keeps them: ``declare_journal`` learns the values in force from the refusal, says so in a
warning, and what ``replay`` tells the user is the retention in force, not the configured one.

The journal (``topology.JOURNAL_STREAM``) holds every event of every run in publishing order. A read
opens its own connection and channel with a prefetch, so the live consumers never wait for it, and
starts at a timestamp offset a little before the run started, so a long journal is not read from its
beginning. It keeps the messages whose correlation id is the run's and stops at the first of:

- a message stamped after the run's horizon (its end plus ``GRACE``; now, for a run still going): the
  run's events are all behind it;
- the mark the read appended to the journal when it began (``_mark_the_end``): the stream's end as it
  was then;
- ``quiet`` seconds without a delivery, should the mark not come (a fallback);
- ``timeout``: ``TimeoutError``, so an answer always comes before the API gives up on the call.

Looking at another run's message means parsing its body for its time, so that is done at most every
``LOOK_EVERY`` seconds: a read overshoots its horizon by that much reading at most.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import aio_pika
import aiormq.exceptions
import orjson
import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope, utc_now
from recruit_sync.contracts.events import UnreadableEvent, read_event

log = structlog.get_logger()

LEAD = timedelta(minutes=1)  # start this far before the run: clocks differ, events wait to be sent
GRACE = timedelta(seconds=30)  # a finished run's RunCompleted and stragglers, stamped just after its end
QUIET = 5.0  # seconds without a delivery: the end of the stream (if its end mark never came)
MARK = "journal.mark"  # routing key of the marks a read appends to find the stream's end
TIMEOUT = 10.0  # under the API's RPC timeout (15 s by default)
PREFETCH = 200
LOOK_EVERY = 0.1  # seconds between looks at another run's message for how far the stream has come


_UNITS = {"Y": "year", "M": "month", "D": "day", "h": "hour", "m": "minute", "s": "second"}
_AGE = re.compile(r"^[1-9][0-9]*[YMDhms]$")
_INEQUIVALENT = re.compile(r"inequivalent arg '(x-max-age|x-max-length-bytes)'.*but current is '([^']*)'")


@dataclass(frozen=True)
class Retention:
    """How long the journal keeps events: ``max_age`` as RabbitMQ spells it (``7D``, ``12h``) and a size
    bound in bytes; whichever is reached first drops the oldest events."""

    max_age: str = topology.JOURNAL_MAX_AGE
    max_bytes: int = topology.JOURNAL_MAX_BYTES

    def __post_init__(self) -> None:
        if not _AGE.match(self.max_age):
            raise ValueError(
                f"journal max age {self.max_age!r}: a whole number and a unit, one of Y M D h m s (e.g. 7D)"
            )
        if self.max_bytes < 1:
            raise ValueError(f"journal max bytes {self.max_bytes!r}: a positive number of bytes")

    @classmethod
    def from_env(cls) -> Retention:
        env = os.environ
        max_bytes = env.get("RECRUIT_SYNC_JOURNAL_MAX_BYTES", str(topology.JOURNAL_MAX_BYTES))
        if not max_bytes.isdigit():
            raise ValueError(f"RECRUIT_SYNC_JOURNAL_MAX_BYTES {max_bytes!r}: a whole number of bytes")
        return cls(env.get("RECRUIT_SYNC_JOURNAL_MAX_AGE", topology.JOURNAL_MAX_AGE), int(max_bytes))

    def arguments(self) -> dict[str, Any]:
        return {"x-queue-type": "stream", "x-max-age": self.max_age, "x-max-length-bytes": self.max_bytes}

    def describe(self) -> str:
        """``it keeps events for 7 days, up to 2 GiB``."""
        count, unit = self.max_age[:-1], _UNITS[self.max_age[-1]]
        age = f"{count} {unit}" if count == "1" else f"{count} {unit}s"
        size = self.max_bytes / 1024**3
        bound = f"{size:g} GiB" if size >= 1 else f"{self.max_bytes / 1024**2:g} MiB"
        return f"it keeps events for {age}, up to {bound}"


async def declare_journal(connection: aio_pika.abc.AbstractConnection, wanted: Retention) -> Retention:
    """Declare the journal stream with ``wanted``'s retention and return the retention in force: the
    wanted one, or, for a journal created before with other values, those (a warning names both)."""
    retention = wanted
    for _ in range(3):  # at most one refusal per argument
        channel = await connection.channel()
        try:
            await channel.declare_queue(
                topology.JOURNAL_STREAM, durable=True, arguments=retention.arguments()
            )
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            found = _INEQUIVALENT.search(str(exc))
            if found is None:
                raise
            name, current = found.groups()
            retention = (
                replace(retention, max_age=current)
                if name == "x-max-age"
                else replace(retention, max_bytes=int(current))
            )
            continue
        finally:
            if not channel.is_closed:
                await channel.close()
        if retention != wanted:
            log.warning(
                "the journal keeps the retention it was created with",
                configured=wanted.describe(),
                in_force=retention.describe(),
                change_it="delete the stream (its events go with it) and run 'recruit-sync migrate'",
            )
        return retention
    raise RuntimeError(f"cannot declare {topology.JOURNAL_STREAM} with its own arguments")


async def retention_in_force(amqp_url: str, wanted: Retention) -> Retention:
    """The journal's retention as the broker applies it (for the message of a run that has left it)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        return await declare_journal(connection, wanted)
    finally:
        await connection.close()


@dataclass(frozen=True)
class Journal:
    """The journal stream on the broker at ``amqp_url``, read one run at a time."""

    amqp_url: str
    timeout: float = TIMEOUT
    quiet: float = QUIET
    retention: Retention = Retention()

    async def left(self, run_id: str) -> str:
        """Why a run's events cannot be read: ``run X has left the journal (it keeps events for ...)``."""
        retention = await retention_in_force(self.amqp_url, self.retention)
        return f"run {run_id} has left the journal ({retention.describe()})"

    async def read_run(
        self, run_id: str, started: datetime, finished: datetime | None, take: Callable[[Envelope], None]
    ) -> int:
        """Hand ``take`` each event of run ``run_id`` in journal order, from ``LEAD`` before ``started``
        to the run's horizon (``finished`` plus ``GRACE``; now for a run still going). Returns how many
        it handed; raises ``TimeoutError`` if the stream could not be read that far in ``timeout``."""
        reader = _Reader(run_id, finished + GRACE if finished is not None else utc_now(), take)
        connection = await aio_pika.connect(self.amqp_url, timeout=self.timeout)
        try:
            async with asyncio.timeout(self.timeout):
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=PREFETCH)
                stream = await channel.declare_queue(topology.JOURNAL_STREAM, passive=True)
                await stream.consume(reader.on_message, arguments={"x-stream-offset": started - LEAD})
                await _mark_the_end(channel, reader.mark)
                await reader.finished(self.quiet)
        finally:
            await connection.close()
        return reader.found


async def _mark_the_end(channel: aio_pika.abc.AbstractChannel, mark: str) -> None:
    """Append a mark to the journal: the read ends when it reaches it, at once, rather than after
    ``quiet`` seconds without a delivery. Only the journal is bound to its routing key; other readers
    see a message stamped now (past the horizon of any finished run)."""
    events = await channel.get_exchange(topology.EVENTS_EXCHANGE, ensure=False)
    body = orjson.dumps({"type": MARK, "occurred_at": utc_now().isoformat()})
    await events.publish(aio_pika.Message(body, message_id=mark, type=MARK), routing_key=MARK)


class _Reader:
    def __init__(self, run_id: str, horizon: datetime, take: Callable[[Envelope], None]) -> None:
        self.mark = uuid.uuid4().hex
        self.run_id = run_id
        self.horizon = horizon
        self.take = take
        self.found = 0
        self.passed = asyncio.Event()
        self._clock = asyncio.get_running_loop().time
        self._last_delivery = self._clock()
        self._next_look = self._last_delivery

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        if self.passed.is_set():
            return  # deliveries already in flight when the read stopped; the connection is closing
        now = self._last_delivery = self._clock()
        if message.message_id == self.mark:
            self.passed.set()
        elif message.correlation_id == self.run_id:
            event = _event(message)
            if event is not None and not self._passes(event.occurred_at):
                self.take(event)
                self.found += 1
        elif now >= self._next_look:
            self._next_look = now + LOOK_EVERY
            self._passes(_stamp(message.body))
        await message.ack()

    def _passes(self, at: datetime | None) -> bool:
        if at is not None and at.tzinfo is not None and at > self.horizon:
            self.passed.set()
        return self.passed.is_set()

    async def finished(self, quiet: float) -> None:
        """Return once past the horizon, or after ``quiet`` seconds without a delivery."""
        while not self.passed.is_set():
            idle = self._clock() - self._last_delivery
            if idle >= quiet:
                return
            try:
                await asyncio.wait_for(self.passed.wait(), quiet - idle)
            except TimeoutError:
                continue


def _event(message: AbstractIncomingMessage) -> Envelope | None:
    """The message's event in its current version; None (and a warning) for one that cannot be read."""
    try:
        data = orjson.loads(message.body)
        if not isinstance(data, dict):
            raise UnreadableEvent("the body is not a JSON object")
        return read_event(data, message.routing_key)
    except (orjson.JSONDecodeError, UnreadableEvent, ValidationError) as exc:
        log.warning("unreadable event in the journal", message_id=message.message_id, error=str(exc)[:200])
        return None


def _stamp(body: bytes) -> datetime | None:
    """When the event in ``body`` happened, or None for a body that does not say."""
    try:
        at = orjson.loads(body).get("occurred_at")
        return datetime.fromisoformat(at) if isinstance(at, str) else None
    except (orjson.JSONDecodeError, AttributeError, ValueError):
        return None
