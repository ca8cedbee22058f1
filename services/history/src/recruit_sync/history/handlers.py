"""One function per event history consumes. Each runs in one transaction on the run's locked row.

Events of a run arrive in any order and may be redelivered, so every handler: creates the run row if
this is its first event and locks it; records the event in the inbox (a redelivery stops there); then
applies what the event says. When that makes the run final, ``RunCompleted`` is written to the outbox
in the same transaction and returned, so the caller can wake the relay to publish it.
A run already final keeps its state: later events are logged and ignored. That holds for a run failed
without an event too: cancelled (``cancel_run``) or stalled (``fail_stalled_runs``), while its fetch or
import may still be going on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from recruit_sync.contracts.counts import after_displacement, is_whole, revise_counts
from recruit_sync.contracts.envelope import Envelope, utc_now
from recruit_sync.contracts.events import (
    BatchImported,
    FetchCompleted,
    FetchFailed,
    MessageRejected,
    RunCompleted,
    RunState,
    SyncDue,
)
from recruit_sync.contracts.ids import run_completed_id
from recruit_sync.history.stalls import StallPolicy, stall_error
from recruit_sync.history.store import Conn
from recruit_sync.history.store.batches import claim_batch, keep_supersessions, take_due
from recruit_sync.history.store.outcomes import displace, store_outcomes, stored_batch
from recruit_sync.history.store.runs import (
    counts_of,
    finish_run,
    lock_known_run,
    lock_run,
    lock_stalled_run,
    note_progress,
    note_run_facts,
    record_fetch,
    record_spend,
    save_counts,
    stalled_run_ids,
    summary_of,
)
from recruit_sync.runtime import outbox
from recruit_sync.runtime.inbox import first_time

log = structlog.get_logger()

Step = Callable[[Conn, asyncpg.Record], Awaitable[RunCompleted | None]]


async def start_run(event: SyncDue, *, pool: asyncpg.Pool) -> RunCompleted | None:
    async def step(conn: Conn, run: asyncpg.Record) -> RunCompleted | None:
        # descriptive facts only: harmless even on a run that another event already finished
        await note_run_facts(
            conn, event.run_id, sync_id=event.sync_id, trigger=event.trigger, started_at=event.occurred_at
        )
        return None

    return await _apply(pool, event, event.run_id, step)


async def complete_fetch(event: FetchCompleted, *, pool: asyncpg.Pool) -> RunCompleted | None:
    async def step(conn: Conn, run: asyncpg.Record) -> RunCompleted | None:
        if _is_final(run, event):
            return None
        await note_run_facts(conn, event.run_id, sync_id=event.sync_id, started_at=event.started_at)
        run = await record_fetch(
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
    async def step(conn: Conn, run: asyncpg.Record) -> RunCompleted | None:
        if _is_final(run, event):
            return None
        await note_run_facts(conn, event.run_id, sync_id=event.sync_id)
        await record_spend(conn, event.run_id, api_calls=event.api_calls, credits=event.credits)
        return await _finish(
            conn, event.run_id, RunState.FAILED, event, error=event.error, auth_failed=event.auth_failed
        )

    return await _apply(pool, event, event.run_id, step)


async def record_batch(event: BatchImported, *, pool: asyncpg.Pool) -> RunCompleted | None:
    """Store the batch's outcomes as the importer gave them and apply what it displaces (docs/adr/0007).

    A supersession naming a batch not received yet is kept and applied when that batch comes, so the
    outcomes and counts end the same whatever order the batches arrive in."""
    stored = stored_batch(event)  # before the run's lock: another batch's writes go on meanwhile

    async def step(conn: Conn, run: asyncpg.Record) -> RunCompleted | None:
        if _is_final(run, event):
            return None
        if run["sync_id"] is None:  # the only fact a batch adds, once known
            await note_run_facts(conn, event.run_id, sync_id=event.sync_id)
        # a re-import of the batch may come under another event id: the batch itself counts once
        if not await claim_batch(conn, event.run_id, event.seq, len(event.outcomes)):
            log.info("batch already recorded", seq=event.seq)
            return None
        await store_outcomes(conn, event, stored)
        counts = revise_counts(counts_of(run), added=event.outcomes.counted())
        await keep_supersessions(conn, event)
        displaced = await displace(conn, event.run_id, await take_due(conn, event.run_id))
        if displaced:
            log.info("earlier outcomes displaced", count=len(displaced))
        run = await save_counts(conn, event.run_id, after_displacement(counts, displaced))
        return await _succeed_if_whole(conn, run, event)

    return await _apply(pool, event, event.run_id, step)


async def fail_rejected_run(event: MessageRejected, *, pool: asyncpg.Pool) -> RunCompleted | None:
    """A consumer dead-lettered a message of the run: a batch will never come, so the run fails.

    Only a run history knows: a message without a run id, or with one no event of a run ever carried
    (a poison message published by hand: FastStream gives a message without a correlation id a random
    one), creates no run and announces nothing. A rejection of a real run comes after its ``SyncDue``
    on this queue, so the run is known by then (``lock_known_run`` also sees one being recorded); were
    one ever to come first, its run would still end: failed when it stalls (``fail_stalled_runs``)."""
    async with pool.acquire() as conn, conn.transaction():
        run = None if event.run_id is None else await lock_known_run(conn, event.run_id)
        if not await first_time(conn, event):
            log.info("event already handled", event_id=str(event.event_id))
            return None
        if run is None:
            log.warning(
                "message rejected outside any run known to history; no run recorded",
                consumer=event.consumer,
                queue=event.queue,
                rejected_message_id=event.message_id,
                reason=event.reason,
            )
            return None
        if _is_final(run, event):
            return None
        error = f"{event.consumer} rejected a message ({event.queue}): {event.reason}"
        return await _finish(conn, run["run_id"], RunState.FAILED, event, error=error)


class UnknownRun(LookupError):
    """No run of that id: history has received none of its events."""


class NotRunning(Exception):
    """The run has already ended: it cannot be cancelled."""

    def __init__(self, run_id: str, state: str, error: str | None) -> None:
        super().__init__(f"run {run_id} has already {state}" + (f" ({error})" if error else ""))


CANCELLED = "cancelled"


async def cancel_run(run_id: str, *, pool: asyncpg.Pool) -> RunCompleted:
    """Fail a running run with error ``cancelled`` (``runs cancel``), announcing it as any completion,
    so the scheduler clears it and the sync may run again. The fetch or the import may still be going
    on: whatever they send later is ignored, like any event of a finished run. Raises ``UnknownRun``
    or ``NotRunning``."""
    async with pool.acquire() as conn, conn.transaction():
        run = await lock_known_run(conn, run_id)
        if run is None:
            raise UnknownRun(run_id)
        if run["state"] != RunState.RUNNING:
            raise NotRunning(run_id, run["state"], run["error"])
        with structlog.contextvars.bound_contextvars(run_id=run_id, sync_id=run["sync_id"]):
            log.info("run cancelled")
            return await _finish(conn, run_id, RunState.FAILED, None, error=CANCELLED)


async def fail_stalled_runs(policy: StallPolicy, *, pool: asyncpg.Pool) -> list[RunCompleted]:
    """Fail every running run without progress for ``policy.seconds``, each with an error naming the
    stage that went silent (``stalls.stall_error``). Replicas may look at the same time: a run is
    failed by whichever locks it first, and one an event is being applied to right now is left alone
    (that event is progress)."""
    failed: list[RunCompleted] = []
    async with pool.acquire() as conn:
        for run_id in await stalled_run_ids(conn, policy.seconds):
            async with conn.transaction():
                run = await lock_stalled_run(conn, run_id, policy.seconds)
                if run is None:
                    continue
                error = stall_error(policy.seconds, run["batch_count"], run["batches_received"])
                with structlog.contextvars.bound_contextvars(run_id=run_id, sync_id=run["sync_id"]):
                    log.warning("run stalled", error=error, last_progress=run["progressed_at"].isoformat())
                    failed.append(await _finish(conn, run_id, RunState.FAILED, None, error=error))
    return failed


async def _apply(pool: asyncpg.Pool, event: Envelope, run_id: str, step: Step) -> RunCompleted | None:
    async with pool.acquire() as conn, conn.transaction():
        run = await lock_run(conn, run_id)
        if not await first_time(conn, event):
            log.info("event already handled", event_id=str(event.event_id))
            return None
        await note_progress(conn, run_id)
        return await step(conn, run)


def _is_final(run: asyncpg.Record, event: Envelope) -> bool:
    if run["state"] == RunState.RUNNING:
        return False
    log.info(
        "event for a finished run ignored",
        state=run["state"],
        error=run["error"],
        event_type=event.ROUTING_KEY,
        event_id=str(event.event_id),
    )
    return True


async def _succeed_if_whole(conn: Conn, run: asyncpg.Record, cause: Envelope) -> RunCompleted | None:
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
    conn: Conn,
    run_id: str,
    state: RunState,
    cause: Envelope | None,
    *,
    error: str | None = None,
    auth_failed: bool = False,
) -> RunCompleted:
    run = await finish_run(
        conn, run_id, state=state, finished_at=utc_now(), error=error, auth_failed=auth_failed
    )
    completed = RunCompleted(
        event_id=run_completed_id(run_id),
        occurred_at=run["finished_at"],
        correlation_id=run_id,
        causation_id=None if cause is None else str(cause.event_id),
        summary=summary_of(run),
        auth_failed=auth_failed,
    )
    await outbox.enqueue(conn, completed)
    log.info("run finished", state=state.value, total=run["total"], error=error)
    return completed
