"""The history service: every run event in on one queue, ``RunCompleted`` out through the outbox, and
the runs, explain and replay RPC operations (docs/adr/0014; replay reads the journal stream on a
connection of its own, docs/adr/0019), ``runs.cancel``, and a loop failing runs that have stalled
(``stalls.py``).

All five event types history consumes share one queue (``topology.HISTORY_EVENTS``): ``any_event``
reads each delivery as its contract (by the body's ``type`` and ``version``, so an event put back from
a DLQ is read too, and a ``BatchImported`` of version 1 or 2 is upgraded) and ``handle`` passes it to its
handler. A body no event can be read from is dead-lettered by the decoder's ``BadInput``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

import asyncpg
import structlog
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import (
    BatchImported,
    FetchCompleted,
    FetchFailed,
    MessageRejected,
    RunCompleted,
    RunSummary,
    SyncDue,
)
from recruit_sync.contracts.resources import RunRef
from recruit_sync.history import handlers
from recruit_sync.history.queries import Queries
from recruit_sync.history.stalls import StallPolicy
from recruit_sync.history.store import retention
from recruit_sync.runtime import metrics
from recruit_sync.runtime.broker import EVENTS, TRANSIENT_ERRORS, BadInput, any_event, work_queue
from recruit_sync.runtime.journal import Journal
from recruit_sync.runtime.retention import pruning
from recruit_sync.runtime.rpc import RpcError, Served, serve
from recruit_sync.runtime.service import Resources, Service

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

log = structlog.get_logger()


async def handle(event: Envelope, pool: asyncpg.Pool) -> RunCompleted | None:
    """History's whole inbound flow: each event type to its handler (handlers.py)."""
    match event:
        case SyncDue():
            return await handlers.start_run(event, pool=pool)
        case FetchCompleted():
            return await handlers.complete_fetch(event, pool=pool)
        case FetchFailed():
            return await handlers.fail_fetch(event, pool=pool)
        case BatchImported():
            return await handlers.record_batch(event, pool=pool)
        case MessageRejected():
            return await _record_rejection(event, pool)
        case _:  # an event of the pipeline, but not one history keeps
            raise BadInput(f"history does not consume {type(event).__name__} ({event.ROUTING_KEY})")


async def _record_rejection(event: MessageRejected, pool: asyncpg.Pool) -> RunCompleted | None:
    try:
        return await handlers.fail_rejected_run(event, pool=pool)
    except TRANSIENT_ERRORS:
        raise  # requeued with a back-off, as any delivery
    except Exception:
        # Dead-lettering it would announce yet another MessageRejected, which this very handler could
        # fail on again, forever: log it and drop it instead.
        log.exception("could not record a rejected message", rejected_by=event.consumer, reason=event.reason)
        return None


def subscribe(broker: RabbitBroker, resources: Resources) -> None:
    @broker.subscriber(work_queue(topology.HISTORY_EVENTS), EVENTS, decoder=any_event)
    async def on_event(event: Envelope) -> None:
        completed = await handle(event, resources.pool)
        if completed is not None:
            resources.relay.wake()  # publish the RunCompleted just committed
            metrics.count_run(completed.summary)


def operations(resources: Resources) -> Iterable[Served]:
    journal = Journal(resources.settings.amqp_url, retention=resources.settings.journal_retention)
    yield from Queries(resources.pool, journal).served()

    async def cancel(request: RunRef) -> RunSummary:
        """404 for a run history does not know, 409 naming the state of one that has ended."""
        try:
            completed = await handlers.cancel_run(request.run_id, pool=resources.pool)
        except handlers.UnknownRun:
            raise RpcError(f"no run {request.run_id!r}", 404) from None
        except handlers.NotRunning as exc:
            raise RpcError(str(exc), 409) from None
        resources.relay.wake()  # publish the RunCompleted just committed
        metrics.count_run(completed.summary)
        return completed.summary

    yield serve(rpc.RUNS_CANCEL, cancel)


async def watch_stalls(resources: Resources, policy: StallPolicy | None = None) -> None:
    """Fail runs without progress for ``RECRUIT_SYNC_RUN_STALL_SECONDS``, looking every few seconds.

    The first look waits for one stall period after start-up: a history that was down has events of
    its runs waiting in its queue, which are progress it has not applied yet, not silence."""
    policy = policy or StallPolicy.from_env()
    log.info("watching for stalled runs", stall_seconds=policy.seconds)
    await asyncio.sleep(policy.seconds)
    while True:
        try:
            stalled = await handlers.fail_stalled_runs(policy, pool=resources.pool)
            if stalled:
                resources.relay.wake()
            for completed in stalled:
                metrics.count_run(completed.summary)
        except TRANSIENT_ERRORS as exc:  # the database is away: look again later
            log.warning("could not look for stalled runs", error=repr(exc))
        except Exception:
            log.exception("looking for stalled runs failed")
        await asyncio.sleep(policy.check_every)


def _check_settings() -> None:
    """A bad ``RECRUIT_SYNC_RUN_STALL_SECONDS`` stops the start-up, naming it, rather than the loop."""
    StallPolicy.from_env()


SERVICE = Service(
    name="history",
    migrations=MIGRATIONS_DIR,
    subscribe=subscribe,
    rpc_queue=topology.HISTORY_RPC,
    operations=operations,
    outbox=True,
    extra_connections=4,  # beside one per delivery in flight: RPC calls, the outbox relay, the stall watch
    loops=(watch_stalls, pruning(retention.prunes)),
    on_start=lambda _resources: _check_settings(),
)
