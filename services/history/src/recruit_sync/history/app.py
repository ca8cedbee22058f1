"""The history service: one subscriber for every run event, one for RPC, and the outbox relay.

All five event types share one queue (topology.HISTORY_EVENTS), so a delivery is dispatched on its
AMQP routing key, or on the body's ``type`` when it comes back by another route (e.g. a DLQ shovel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import asyncpg
import orjson
import structlog
from faststream import FastStream
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import MessageRejected, RunCompleted
from recruit_sync.history import queries
from recruit_sync.history.handlers import EVENT_HANDLERS, Handler
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import (
    EVENTS,
    TRANSIENT_ERRORS,
    consume,
    declare_topology,
    make_broker,
    publish_event,
    reject,
    rpc_queue,
    work_queue,
)
from recruit_sync.runtime.db import create_pool
from recruit_sync.runtime.outbox import OutboxRelay
from recruit_sync.runtime.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CONSUMER = "history"

log = structlog.get_logger()


@dataclass
class _Running:
    """What exists only between startup and shutdown."""

    pool: asyncpg.Pool | None = None
    relay: OutboxRelay | None = None
    operations: dict[str, rpc.Operation] = field(default_factory=dict)


def build_app(settings: Settings) -> FastStream:
    broker = make_broker(settings.amqp_url, prefetch=settings.prefetch)
    running = _Running()
    app = FastStream(broker)

    @broker.subscriber(work_queue(topology.HISTORY_EVENTS), EVENTS)
    async def on_event(message: RabbitMessage) -> None:
        assert running.pool is not None and running.relay is not None
        await handle_delivery(broker, message, pool=running.pool, relay=running.relay)

    @broker.subscriber(rpc_queue(topology.HISTORY_RPC))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await rpc.dispatch(running.operations, message.body)

    @app.on_startup
    async def open_resources() -> None:
        await declare_topology(settings.amqp_url)
        # events up to the prefetch, RPC calls and the relay each hold a connection at once
        running.pool = await create_pool(settings.database_url, "history", max_size=settings.prefetch + 4)
        running.operations = queries.operations(running.pool)
        # ready before the broker starts: queued events are delivered as soon as it does
        running.relay = OutboxRelay(running.pool, partial(publish_event, broker))

    @app.after_startup
    async def start_relay() -> None:
        assert running.relay is not None
        running.relay.start()  # publishing needs the broker; its first pass sends what was left unsent

    @app.on_shutdown
    async def stop_relay() -> None:
        if running.relay is not None:
            await running.relay.stop()

    @app.after_shutdown
    async def close_pool() -> None:
        if running.pool is not None:
            await running.pool.close()

    return app


async def handle_delivery(
    broker: RabbitBroker, message: RabbitMessage, *, pool: asyncpg.Pool, relay: OutboxRelay
) -> None:
    key = event_type_of(message)
    if key is None:
        await _reject_unknown(broker, message)
        return
    event_cls, handler = EVENT_HANDLERS[key]

    async def run_handler(event: Envelope) -> None:
        completed = await _call(handler, event, pool=pool)
        if completed is not None:
            relay.wake()

    await consume(
        broker, message, event_cls, consumer=CONSUMER, queue=topology.HISTORY_EVENTS, handler=run_handler
    )


async def _call(handler: Handler, event: Envelope, *, pool: asyncpg.Pool) -> RunCompleted | None:
    try:
        return await handler(event, pool=pool)
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        if not isinstance(event, MessageRejected):
            raise  # consume() dead-letters it and announces that with MessageRejected
        # Announcing this failure would be yet another MessageRejected, which this very handler
        # could fail on again, forever: log it and drop it instead.
        log.exception("could not record a rejected message", rejected_by=event.consumer, reason=event.reason)
        return None


def event_type_of(message: RabbitMessage) -> str | None:
    key = message.raw_message.routing_key
    if key in EVENT_HANDLERS:
        return key
    try:
        body_type = orjson.loads(message.body).get("type")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return body_type if body_type in EVENT_HANDLERS else None


async def _reject_unknown(broker: RabbitBroker, message: RabbitMessage) -> None:
    reason = f"unknown event type (routing key {message.raw_message.routing_key!r})"
    await reject(broker, message, CONSUMER, topology.HISTORY_EVENTS, message.correlation_id, reason)
