"""The fetcher's FastStream app: one subscriber, SyncDue -> handlers.fetch_sync."""

from __future__ import annotations

import functools
import os

from faststream import FastStream
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import SyncDue
from recruit_sync.fetcher.handlers import ClientFactory, fetch_sync, recruit_client_factory
from recruit_sync.runtime.broker import (
    EVENTS,
    consume,
    declare_topology,
    make_broker,
    publish_event,
    work_queue,
)
from recruit_sync.runtime.settings import Settings

CONSUMER = "fetcher"
# A SyncDue is a long job (a whole run); two at once per process keeps both Recruit and the broker busy
# without one process hoarding the queue while other replicas idle.
SYNC_DUE_PREFETCH = 2
DEFAULT_RECRUIT_TIMEOUT = 30.0


def recruit_timeout() -> float:
    """Seconds per HTTP call to Recruit (``RECRUIT_SYNC_RECRUIT_TIMEOUT``)."""
    return float(os.environ.get("RECRUIT_SYNC_RECRUIT_TIMEOUT", DEFAULT_RECRUIT_TIMEOUT))


def build_broker(settings: Settings, *, connect: ClientFactory | None = None) -> RabbitBroker:
    """The broker with the SyncDue subscriber; ``connect`` makes Recruit clients (tests inject one)."""
    broker = make_broker(settings.amqp_url, prefetch=settings.prefetch)
    make_client = connect or recruit_client_factory(timeout=recruit_timeout())
    publish = functools.partial(publish_event, broker)

    async def handle(due: SyncDue) -> None:
        await fetch_sync(due, connect=make_client, publish=publish)

    @broker.subscriber(
        work_queue(topology.FETCHER_SYNC_DUE), EVENTS, channel=Channel(prefetch_count=SYNC_DUE_PREFETCH)
    )
    async def on_sync_due(message: RabbitMessage) -> None:
        await consume(
            broker, message, SyncDue, consumer=CONSUMER, queue=topology.FETCHER_SYNC_DUE, handler=handle
        )

    return broker


def build_app(settings: Settings, *, connect: ClientFactory | None = None) -> FastStream:
    async def declare() -> None:
        await declare_topology(settings.amqp_url)

    return FastStream(build_broker(settings, connect=connect), on_startup=[declare])
