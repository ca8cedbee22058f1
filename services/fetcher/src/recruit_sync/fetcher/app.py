"""The fetcher as a service: one subscriber, SyncDue -> ``handlers.fetch_sync``. It keeps no database."""

from __future__ import annotations

import os

from faststream import FastStream
from faststream.rabbit import Channel, RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import SyncDue
from recruit_sync.fetcher.handlers import ClientFactory, fetch_sync, recruit_client_factory
from recruit_sync.runtime import service
from recruit_sync.runtime.broker import EVENTS, decoder, work_queue
from recruit_sync.runtime.service import Resources, Service
from recruit_sync.runtime.settings import Settings

# A SyncDue is a long job (a whole run); two at once per process keeps both Recruit and the broker busy
# without one process hoarding the queue while other replicas idle.
SYNC_DUE_PREFETCH = 2
DEFAULT_RECRUIT_TIMEOUT = 30.0


def recruit_timeout() -> float:
    """Seconds per HTTP call to Recruit (``RECRUIT_SYNC_RECRUIT_TIMEOUT``)."""
    return float(os.environ.get("RECRUIT_SYNC_RECRUIT_TIMEOUT", DEFAULT_RECRUIT_TIMEOUT))


def fetcher(connect: ClientFactory | None = None) -> Service:
    """The fetcher service; ``connect`` makes Recruit clients (tests inject one; by default, real ones
    that share the process's token and module-list caches)."""

    def subscribe(broker: RabbitBroker, resources: Resources) -> None:
        make_client = connect or recruit_client_factory(timeout=recruit_timeout())

        @broker.subscriber(
            work_queue(topology.FETCHER_SYNC_DUE),
            EVENTS,
            channel=Channel(prefetch_count=SYNC_DUE_PREFETCH),
            decoder=decoder(SyncDue),
        )
        async def on_sync_due(due: SyncDue) -> None:
            await fetch_sync(due, connect=make_client, publish=resources.publish)

    return Service("fetcher", subscribe=subscribe)


SERVICE = fetcher()


def build_app(settings: Settings, *, connect: ClientFactory | None = None) -> FastStream:
    return service.build_app(fetcher(connect), settings)
