"""One run's events read back from the journal stream (docs/adr/0019), without disturbing anyone.

The journal (``topology.JOURNAL_STREAM``) holds every event of every run in publishing order. A read
opens its own connection and channel with a prefetch, so the live consumers never wait for it, and
starts at a timestamp offset a little before the run started, so a long journal is not read from its
beginning. It keeps the messages whose correlation id is the run's and stops at the first of:

- a message stamped after the run's horizon (its end plus ``GRACE``; now, for a run still going): the
  run's events are all behind it;
- ``quiet`` seconds without a delivery: the reader is at the end of the stream;
- ``timeout``: ``TimeoutError``, so an answer always comes before the API gives up on the call.

Looking at another run's message means parsing its body for its time, so that is done at most every
``LOOK_EVERY`` seconds: a read overshoots its horizon by that much reading at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aio_pika
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
QUIET = 1.0  # seconds without a delivery: the end of the stream
TIMEOUT = 10.0  # under the API's RPC timeout (15 s by default)
PREFETCH = 200
LOOK_EVERY = 0.1  # seconds between looks at another run's message for how far the stream has come


def retention(max_age: str, max_bytes: int) -> str:
    """``it keeps events for 7 days, up to 2 GiB``, from the stream's arguments (``7D``, bytes)."""
    units = {"Y": "year", "M": "month", "D": "day", "h": "hour", "m": "minute", "s": "second"}
    count, unit = max_age[:-1], units[max_age[-1]]
    age = f"{count} {unit}" if count == "1" else f"{count} {unit}s"
    return f"it keeps events for {age}, up to {max_bytes / 1024**3:g} GiB"


RETENTION = retention(topology.JOURNAL_MAX_AGE, topology.JOURNAL_MAX_BYTES)


@dataclass(frozen=True)
class Journal:
    """The journal stream on the broker at ``amqp_url``, read one run at a time."""

    amqp_url: str
    timeout: float = TIMEOUT
    quiet: float = QUIET

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
                await reader.finished(self.quiet)
        finally:
            await connection.close()
        return reader.found


class _Reader:
    def __init__(self, run_id: str, horizon: datetime, take: Callable[[Envelope], None]) -> None:
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
        if message.correlation_id == self.run_id:
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
