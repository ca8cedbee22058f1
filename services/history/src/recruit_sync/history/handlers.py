"""One function per event history consumes. Each runs in one transaction on the run's locked row.

Events of a run arrive in any order and may be redelivered, so every handler: creates the run row if
this is its first event and locks it; records the event id in the inbox (a redelivery stops there);
then applies what the event says. When that makes the run final, ``RunCompleted`` is written to the
outbox in the same transaction and returned, so the caller can wake the relay to publish it.
A run already final keeps its state: later events are logged and ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope, deterministic_id, utc_now
from recruit_sync.contracts.events import (
    BatchImported,
    FetchCompleted,
    FetchFailed,
    MessageRejected,
    Outcome,
    RunCompleted,
    RunState,
    SyncDue,
)
from recruit_sync.history import store
from recruit_sync.history.aggregate import (
    FILE_DUPLICATE,
    Placed,
    Settlement,
    add_counts,
    count_outcomes,
    holds_email,
    is_whole,
    revise_counts,
    settle_batch,
)
from recruit_sync.runtime import outbox

log = structlog.get_logger()

Step = Callable[[store.Conn, asyncpg.Record], Awaitable[RunCompleted | None]]


async def start_run(event: SyncDue, *, pool: asyncpg.Pool) -> RunCompleted | None:
    async def step(conn: store.Conn, run: asyncpg.Record) -> RunCompleted | None:
        # descriptive facts only: harmless even on a run that another event already finished
        await store.note_run_facts(
            conn, event.run_id, sync_id=event.sync_id, trigger=event.trigger, started_at=event.occurred_at
        )
        return None

    return await _apply(pool, event, event.run_id, step)


async def complete_fetch(event: FetchCompleted, *, pool: asyncpg.Pool) -> RunCompleted | None:
    async def step(conn: store.Conn, run: asyncpg.Record) -> RunCompleted | None:
        if _is_final(run, event):
            return None
        await store.note_run_facts(conn, event.run_id, sync_id=event.sync_id, started_at=event.started_at)
        run = await store.record_fetch(
            conn,
            event.run_id,
            batch_count=event.batch_count,
            record_count=event.record_count,
            deleted_count=event.deleted_count,
            api_calls=event.api_calls,
            credits=event.credits,
        )
        return await _succeed_if_whole(conn, run, event)

    return await _apply(pool, event, event.run_id, step)


async def fail_fetch(event: FetchFailed, *, pool: asyncpg.Pool) -> RunCompleted | None:
    async def step(conn: store.Conn, run: asyncpg.Record) -> RunCompleted | None:
        if _is_final(run, event):
            return None
        await store.note_run_facts(conn, event.run_id, sync_id=event.sync_id)
        await store.record_spend(conn, event.run_id, api_calls=event.api_calls, credits=event.credits)
        return await _finish(
            conn, event.run_id, RunState.FAILED, event, error=event.error, auth_failed=event.auth_failed
        )

    return await _apply(pool, event, event.run_id, step)


async def record_batch(event: BatchImported, *, pool: asyncpg.Pool) -> RunCompleted | None:
    async def step(conn: store.Conn, run: asyncpg.Record) -> RunCompleted | None:
        if _is_final(run, event):
            return None
        if run["sync_id"] is None:  # the only fact a batch adds, once known
            await store.note_run_facts(conn, event.run_id, sync_id=event.sync_id)
        # a re-import of the batch may come under another event id: the batch itself counts once
        if not await store.claim_batch(conn, event.run_id, event.seq, len(event.outcomes)):
            log.info("batch already recorded", seq=event.seq)
            return None
        keys = [store.email_key(item.email) for item in event.outcomes]
        settled = await _settle(conn, event, keys, first=run["batches_received"] == 0)
        await store.copy_outcomes(conn, event, settled.outcomes, keys)
        counts = add_counts(store.counts_of(run), count_outcomes(item for _, item in settled.outcomes))
        if settled.earlier_losers or settled.earlier_voided:
            await store.mark_file_duplicates(conn, event.run_id, settled.earlier_losers)
            await store.drop_outcomes(conn, event.run_id, settled.earlier_voided)
            counts = revise_counts(
                counts,
                removed=[
                    (row.outcome, row.reason) for row in settled.earlier_losers + settled.earlier_voided
                ],
                added=[(Outcome.IGNORED, FILE_DUPLICATE)] * len(settled.earlier_losers),
            )
        run = await store.save_counts(conn, event.run_id, counts)
        return await _succeed_if_whole(conn, run, event)

    return await _apply(pool, event, event.run_id, step)


async def _settle(
    conn: store.Conn, event: BatchImported, keys: list[str | None], *, first: bool
) -> Settlement:
    """One outcome past check 4 per email and run, whatever order the batches came in (aggregate).
    ``first``: no other batch of the run is recorded yet, so there is nothing to look up."""
    earlier: dict[str, list[Placed]] = {}
    if not first:
        holding = [
            key
            for key, item in zip(keys, event.outcomes, strict=True)
            if key and holds_email(item.outcome, item.reason)
        ]
        earlier = await store.placed_in_run(conn, event.run_id, holding)
    settled = settle_batch(event.seq, event.occurred_at, event.outcomes, keys, earlier)
    if settled.changed:
        log.info("outcomes settled across batches", changed=settled.changed)
    return settled


async def fail_rejected_run(event: MessageRejected, *, pool: asyncpg.Pool) -> RunCompleted | None:
    """A consumer dead-lettered a message of the run: a batch will never come, so the run fails."""
    if event.run_id is None:
        async with pool.acquire() as conn, conn.transaction():
            await store.claim_event(conn, event)
        log.warning("message rejected outside any run", consumer=event.consumer, reason=event.reason)
        return None

    async def step(conn: store.Conn, run: asyncpg.Record) -> RunCompleted | None:
        if _is_final(run, event):
            return None
        error = f"{event.consumer} rejected a message ({event.queue}): {event.reason}"
        return await _finish(conn, run["run_id"], RunState.FAILED, event, error=error)

    return await _apply(pool, event, event.run_id, step)


async def _apply(pool: asyncpg.Pool, event: Envelope, run_id: str, step: Step) -> RunCompleted | None:
    async with pool.acquire() as conn, conn.transaction():
        run = await store.lock_run(conn, run_id)
        if not await store.claim_event(conn, event):
            log.info("event already handled", event_id=str(event.event_id))
            return None
        return await step(conn, run)


def _is_final(run: asyncpg.Record, event: Envelope) -> bool:
    if run["state"] == RunState.RUNNING:
        return False
    log.info("event for a finished run ignored", state=run["state"], event_id=str(event.event_id))
    return True


async def _succeed_if_whole(conn: store.Conn, run: asyncpg.Record, cause: Envelope) -> RunCompleted | None:
    if not is_whole(run["batch_count"], run["batches_received"]):
        return None
    expected = (run["fetched_records"], run["fetched_deleted"])
    if expected != (run["total"], run["deleted"]):
        # the importer owes one outcome per fetched record; say so, but the run did complete
        log.warning(
            "outcome count differs from what was fetched",
            fetched=expected[0],
            fetched_deleted=expected[1],
            total=run["total"],
            deleted=run["deleted"],
        )
    return await _finish(conn, run["run_id"], RunState.SUCCEEDED, cause)


async def _finish(
    conn: store.Conn,
    run_id: str,
    state: RunState,
    cause: Envelope,
    *,
    error: str | None = None,
    auth_failed: bool = False,
) -> RunCompleted:
    run = await store.finish_run(
        conn, run_id, state=state, finished_at=utc_now(), error=error, auth_failed=auth_failed
    )
    completed = RunCompleted(
        event_id=deterministic_id("run-completed", run_id),
        occurred_at=run["finished_at"],
        correlation_id=run_id,
        causation_id=str(cause.event_id),
        summary=store.summary_of(run),
        auth_failed=auth_failed,
    )
    await outbox.enqueue(conn, completed)
    log.info("run finished", state=state.value, total=run["total"], error=error)
    return completed


Handler = Callable[..., Awaitable[RunCompleted | None]]

# routing key -> (the event it carries, its handler): history's whole inbound flow on one screen
EVENT_HANDLERS: dict[str, tuple[type[Envelope], Handler]] = {
    topology.SYNC_DUE: (SyncDue, start_run),
    topology.FETCH_COMPLETED: (FetchCompleted, complete_fetch),
    topology.FETCH_FAILED: (FetchFailed, fail_fetch),
    topology.BATCH_IMPORTED: (BatchImported, record_batch),
    topology.MESSAGE_REJECTED: (MessageRejected, fail_rejected_run),
}
