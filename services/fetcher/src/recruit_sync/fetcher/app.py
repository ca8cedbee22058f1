"""The fetcher as a service: SyncDue -> ``handlers.fetch_sync``, and on its RPC queue FETCH_PREVIEW ->
``preview.preview_sync``, which has the importer decide the batches (``ImporterRpc``). It keeps no
database."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterable
from typing import Any

from faststream import AckPolicy, FastStream
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import SyncDue
from recruit_sync.contracts.resources import Preview
from recruit_sync.contracts.rpc import Operation, Req, Res
from recruit_sync.fetcher.flow import FlowControl
from recruit_sync.fetcher.handlers import ClientFactory, fetch_sync, recruit_client_factory
from recruit_sync.fetcher.preview import preview_sync
from recruit_sync.runtime import service
from recruit_sync.runtime.broker import EVENTS, decoder, work_queue
from recruit_sync.runtime.rpc import RpcClient, Served, serve
from recruit_sync.runtime.service import Resources, Service
from recruit_sync.runtime.settings import Settings

DEFAULT_RECRUIT_TIMEOUT = 30.0


def imports_queue() -> RabbitQueue:
    """This process's own queue of ``BatchImported`` events (flow control): exclusive, gone with the
    connection. Every process sees every import; each cares about its own runs' batches."""
    queue: RabbitQueue = RabbitQueue(
        f"{topology.FETCHER_IMPORTS_PREFIX}{uuid.uuid4().hex}",
        exclusive=True,
        auto_delete=True,
        routing_key=topology.BATCH_IMPORTED,
    )
    return queue


async def message_id_only(message: StreamMessage[Any]) -> str | None:
    """The body (a batch's outcomes) is not read: the message id says which batch was imported."""
    return message.message_id


def recruit_timeout() -> float:
    """Seconds per HTTP call to Recruit (``RECRUIT_SYNC_RECRUIT_TIMEOUT``)."""
    return float(os.environ.get("RECRUIT_SYNC_RECRUIT_TIMEOUT", DEFAULT_RECRUIT_TIMEOUT))


class ImporterRpc:
    """The importer's RPC operations, for previews: one connection per process, opened by the first
    preview (one may arrive before any start-up hook has run, and most processes never preview) and
    closed when the service stops (``close_when_stopped``, one of the service's loops)."""

    def __init__(self) -> None:
        self.amqp_url: str | None = None  # known once the service starts
        self._client: RpcClient | None = None
        self._lock = asyncio.Lock()

    async def call(self, operation: Operation[Req, Res], request: Req, timeout: float) -> Res:
        return await (await self._connected()).call(operation, request, timeout)

    async def _connected(self) -> RpcClient:
        async with self._lock:  # two first previews at once open one connection
            if self._client is None:
                assert self.amqp_url is not None, "the fetcher has not started"
                client = RpcClient(self.amqp_url)
                await client.connect()
                self._client = client
            return self._client

    async def close_when_stopped(self, _: Resources) -> None:
        try:
            await asyncio.Event().wait()  # cancelled when the service stops
        finally:
            async with self._lock:
                if self._client is not None:
                    await self._client.close()
                    self._client = None


def fetcher(connect: ClientFactory | None = None) -> Service:
    """The fetcher service; ``connect`` makes Recruit clients (tests inject one; by default, real ones
    that share the process's token and module-list caches, between runs and previews alike)."""
    make_client = connect or recruit_client_factory(timeout=recruit_timeout())
    importer = ImporterRpc()

    def subscribe(broker: RabbitBroker, resources: Resources) -> None:
        settings = resources.settings
        flow = FlowControl(settings.batches_ahead, settings.flow_patience_seconds)

        @broker.subscriber(
            work_queue(topology.FETCHER_SYNC_DUE),
            EVENTS,
            # a SyncDue is a whole run, which flow control keeps a few batches ahead of its import, so it
            # mostly waits: several at once let small syncs start beside a backfill (docs/adr/0023)
            channel=Channel(prefetch_count=settings.fetch_concurrency),
            decoder=decoder(SyncDue),
        )
        async def on_sync_due(due: SyncDue) -> None:
            await fetch_sync(due, connect=make_client, publish=resources.publish, flow=flow)

        @broker.subscriber(
            imports_queue(),
            EVENTS,
            ack_policy=AckPolicy.ACK_FIRST,
            decoder=message_id_only,
            include_in_schema=False,
        )
        async def on_batch_imported(message_id: str | None) -> None:
            flow.imported(message_id)

    def operations(resources: Resources) -> Iterable[Served]:
        importer.amqp_url = resources.settings.amqp_url

        async def preview(due: SyncDue) -> Preview:
            return await preview_sync(due, connect=make_client, importer=importer)

        return (serve(rpc.FETCH_PREVIEW, preview),)

    return Service(
        "fetcher",
        subscribe=subscribe,
        rpc_queue=topology.FETCHER_RPC,
        operations=operations,
        loops=(importer.close_when_stopped,),
    )


SERVICE = fetcher()


def build_app(settings: Settings, *, connect: ClientFactory | None = None) -> FastStream:
    return service.build_app(fetcher(connect), settings)
