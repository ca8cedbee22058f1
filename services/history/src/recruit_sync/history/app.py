"""The history service: every run event in on one queue, ``RunCompleted`` out through the outbox, and
the runs, explain and replay RPC operations (docs/adr/0014; replay reads the journal stream on a
connection of its own, docs/adr/0019).

All five event types history consumes share one queue (``topology.HISTORY_EVENTS``): ``any_event``
reads each delivery as its contract (by the body's ``type`` and ``version``, so an event put back from
a DLQ is read too, and a ``BatchImported`` version 1 is upgraded) and ``handle`` passes it to its
handler. A body no event can be read from is dead-lettered by the decoder's ``BadInput``.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import structlog
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import (
    BatchImported,
    FetchCompleted,
    FetchFailed,
    MessageRejected,
    RunCompleted,
    SyncDue,
)
from recruit_sync.history import handlers
from recruit_sync.history.queries import Queries
from recruit_sync.runtime.broker import EVENTS, TRANSIENT_ERRORS, BadInput, any_event, work_queue
from recruit_sync.runtime.journal import Journal
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
        if await handle(event, resources.pool) is not None:
            resources.relay.wake()  # publish the RunCompleted just committed


SERVICE = Service(
    name="history",
    migrations=MIGRATIONS_DIR,
    subscribe=subscribe,
    rpc_queue=topology.HISTORY_RPC,
    operations=lambda resources: Queries(
        resources.pool, Journal(resources.settings.amqp_url, retention=resources.settings.journal_retention)
    ).served(),
    outbox=True,
    extra_connections=4,  # beside one per delivery in flight: RPC calls and the outbox relay
)
