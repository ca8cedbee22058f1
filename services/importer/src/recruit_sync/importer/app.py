"""The importer service: record batches in, BatchImported out, and the contact store's RPC operations.

Batches run concurrently up to the prefetch; batches of one target list serialise on the list's
advisory lock inside ``handlers.import_batch``. The BatchImported of a batch is published after its
transaction commits: if the process dies in between, the batch is redelivered, finds itself recorded
and republishes the same event (same id), so no outbox is needed.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import asyncpg
from faststream import FastStream
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import RecordBatch
from recruit_sync.importer import handlers
from recruit_sync.runtime import rpc
from recruit_sync.runtime.broker import (
    EVENTS,
    consume,
    declare_topology,
    make_broker,
    publish_event,
    rpc_queue,
    work_queue,
)
from recruit_sync.runtime.db import create_pool
from recruit_sync.runtime.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SCHEMA = "importer"
CONSUMER = "importer"
# CPython's cycle collector runs every 700 net allocations by default; see tune_garbage_collector
GC_THRESHOLDS = (50_000, 20, 100)


@dataclass
class _Running:
    """What exists only between startup and shutdown."""

    pool: asyncpg.Pool | None = None
    operations: dict[str, rpc.Operation] = field(default_factory=dict)


def operations(pool: asyncpg.Pool) -> dict[str, rpc.Operation]:
    """contracts.rpc.IMPORTER_OPS, bound to the pool."""
    return {
        "list.members": partial(handlers.list_members, pool),
        "list.all": partial(handlers.list_all, pool),
        "suppress.add": partial(handlers.suppress_add, pool),
        "suppress.remove": partial(handlers.suppress_remove, pool),
        "suppress.list": partial(handlers.suppress_list, pool),
    }


def tune_garbage_collector() -> None:
    """A batch allocates tens of thousands of short-lived objects (parsed records, outcomes, rows):
    with the default thresholds the collector runs dozens of times per batch and its older
    generations rescan every long-lived object, about a tenth of a batch's time. Objects alive at
    start-up are frozen out of its scans, and it runs less often (the importer makes few cycles)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def build_app(settings: Settings) -> FastStream:
    broker = make_broker(settings.amqp_url, prefetch=settings.prefetch)
    running = _Running()
    app = FastStream(broker)

    async def import_and_publish(batch: RecordBatch) -> None:
        assert running.pool is not None
        event = await handlers.import_batch(running.pool, batch)
        await publish_event(broker, event)

    @broker.subscriber(work_queue(topology.IMPORTER_RECORD_BATCH), EVENTS)
    async def on_record_batch(message: RabbitMessage) -> None:
        await consume(
            broker,
            message,
            RecordBatch,
            consumer=CONSUMER,
            queue=topology.IMPORTER_RECORD_BATCH,
            handler=import_and_publish,
        )

    @broker.subscriber(rpc_queue(topology.IMPORTER_RPC))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await rpc.dispatch(running.operations, message.body)

    @app.on_startup
    async def open_resources() -> None:
        await declare_topology(settings.amqp_url)
        # one connection per batch in flight, plus RPC calls
        running.pool = await create_pool(settings.database_url, SCHEMA, max_size=settings.prefetch + 2)
        running.operations = operations(running.pool)
        tune_garbage_collector()

    @app.after_shutdown
    async def close_pool() -> None:
        if running.pool is not None:
            await running.pool.close()

    return app
