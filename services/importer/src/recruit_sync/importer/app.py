"""The importer service: record batches in, BatchImported out, and the contact store's RPC operations.

Batches run concurrently up to the prefetch; batches of one target list take turns in the process
(``handlers.ListTurns``), then serialise on the list's row lock inside ``handlers.import_batch``.
The BatchImported of a batch is published after its transaction commits: if the process dies in
between, the batch is redelivered, finds itself recorded and republishes the same event (same id), so
no outbox is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from faststream.rabbit import Channel, RabbitBroker

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import RecordBatch
from recruit_sync.importer import handlers
from recruit_sync.importer.scratch_runs import JOURNAL_READ_TIMEOUT, ScratchRuns
from recruit_sync.importer.store import retention
from recruit_sync.runtime.broker import EVENTS, decoder, work_queue
from recruit_sync.runtime.journal import Journal
from recruit_sync.runtime.retention import pruning
from recruit_sync.runtime.rpc import Served, serve
from recruit_sync.runtime.service import Resources, Service


def subscribe(broker: RabbitBroker, resources: Resources) -> None:
    version = resources.settings.batch_imported_version

    @broker.subscriber(
        work_queue(topology.IMPORTER_RECORD_BATCH),
        EVENTS,
        # more than the database connections (Settings.prefetch): batches of one list wait for their
        # turn without one (``handlers.ListTurns``), parsed only when next in line; flow control keeps a
        # run to a few batches in flight (docs/adr/0023), so a backfill's batches never take them all
        channel=Channel(prefetch_count=resources.settings.importer_prefetch),
        decoder=decoder(RecordBatch),
    )
    async def on_record_batch(batch: RecordBatch) -> None:
        event = await handlers.import_batch(resources.pool, batch)
        # (version 2 while history processes of an earlier release may still read it: an upgrade)
        await resources.publish(event if version == 3 else event.as_version_2())


MIGRATIONS = Path(__file__).parent / "migrations"


def operations(resources: Resources) -> Iterable[Served]:
    """Every importer operation of ``contracts.rpc``."""
    pool, settings = resources.pool, resources.settings
    journal = Journal(settings.amqp_url, timeout=JOURNAL_READ_TIMEOUT, retention=settings.journal_retention)
    scratch_runs = ScratchRuns(settings.database_url, MIGRATIONS, journal)
    return (
        serve(rpc.LIST_MEMBERS, partial(handlers.list_members, pool)),
        serve(rpc.LIST_ALL, partial(handlers.list_all, pool)),
        serve(rpc.SUPPRESS_ADD, partial(handlers.suppress_add, pool)),
        serve(rpc.SUPPRESS_REMOVE, partial(handlers.suppress_remove, pool)),
        serve(rpc.SUPPRESS_LIST, partial(handlers.suppress_list, pool)),
        serve(rpc.RUNS_DRY_RUN, scratch_runs.dry_run),
        serve(rpc.PREVIEW_OPEN, scratch_runs.preview_open),
        serve(rpc.PREVIEW_BATCH, scratch_runs.preview_batch),
        serve(rpc.PREVIEW_CLOSE, scratch_runs.preview_close),
    )


# A batch allocates tens of thousands of short-lived objects (parsed records, outcomes, rows) and the
# importer makes few cycles: CPython's collector, every 700 net allocations, ran dozens of times a batch.
GC_THRESHOLDS = (50_000, 20, 100)

SERVICE = Service(
    name="importer",
    migrations=MIGRATIONS,
    subscribe=subscribe,
    rpc_queue=topology.IMPORTER_RPC,
    operations=operations,
    loops=(pruning(retention.prunes),),
    gc_thresholds=GC_THRESHOLDS,
)
