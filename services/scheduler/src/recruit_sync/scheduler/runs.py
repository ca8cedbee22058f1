"""Runs: the tick that emits due runs, starting a run, recording its completion, the credit budget.

Every step does its work in one transaction; the SyncDue it causes goes to the outbox in that same
transaction and is published right after the commit (runtime.outbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from recruit_sync.contracts.events import RunCompleted, RunState, RunSummary, Trigger
from recruit_sync.contracts.ids import run_id_for_schedule
from recruit_sync.contracts.resources import WindowKind
from recruit_sync.runtime import inbox, outbox, tracing
from recruit_sync.scheduler import budget, notify, store
from recruit_sync.scheduler.deps import Deps, transaction
from recruit_sync.scheduler.due import Window, build_sync_due, retrieval_window
from recruit_sync.scheduler.schedule import next_due_at
from recruit_sync.scheduler.store import Conn, FinishedRun, StoredSync, SyncRow, UnreadableSync
from recruit_sync.scheduler.views import snapshot

log = structlog.get_logger()

CLAIM_LIMIT = 50


# the tick -----------------------------------------------------------------------------------------------


async def emit_due_runs(deps: Deps) -> int:
    """One scheduler tick: emit a SyncDue for every due active sync without a run in flight.

    The next due time is the first occurrence after *now*, so a sync that missed several periods
    (downtime) runs once on recovery. Replicas claim with SKIP LOCKED, and scheduled run ids derive
    from (sync, due time), so each due run is emitted once. A run its connection's credit budget has
    no room for stays due, later: when enough credits will have freed up.
    """
    now = deps.clock()
    emitted = 0
    async with transaction(deps) as conn:
        syncs = await store.claim_due_syncs(conn, now, CLAIM_LIMIT)
        # Budget checks lock their connection; taken in one order, replicas never wait in a cycle.
        for sync in sorted(syncs, key=lambda sync: sync.connection_id):
            if isinstance(sync, UnreadableSync):
                # Settings stored under an older contract that this one refuses: park this sync
                # with the reason, so one unreadable sync never holds up the others.
                reason = f"invalid_settings: {sync.problem}"
                log.error("stored sync settings unreadable, sync paused", sync_id=str(sync.id), reason=reason)
                await store.set_state(conn, sync.id, "paused", reason, None)
            elif await _emit_due_run(deps, conn, sync, now):
                emitted += 1
    if emitted:
        log.info("due runs emitted", count=emitted)
        await deps.relay.publish_pending()
    return emitted


async def _emit_due_run(deps: Deps, conn: Conn, sync: StoredSync, now: datetime) -> bool:
    """Start the scheduled run of ``sync`` if its budget has room; else defer it until it will."""
    window = retrieval_window(sync.spec, sync.last_success_started_at, full=False)
    check = await check_budget(conn, sync, window.kind, now)
    if check.fits_from is not None:
        await store.defer_for_credits(conn, sync.id, check.fits_from)
        log.info(
            "due run waits for the credit budget",
            sync_id=str(sync.id),
            until=check.fits_from.isoformat(),
            spent=check.spent,
            estimate=check.estimate,
        )
        return False
    assert sync.next_due_at is not None  # claimed because it is due
    started = await start_run(
        deps,
        conn,
        sync,
        run_id=run_id_for_schedule(str(sync.id), sync.next_due_at),
        trigger=Trigger.SCHEDULE,
        due_at=sync.next_due_at,
        window=window,
        estimate=check.estimate,
    )
    if started:  # else a manual run got in first: stay due, run once it has finished
        await store.set_next_due(conn, sync.id, next_due_at(sync.spec.schedule, now, ran=True))
    return started


# starting a run -----------------------------------------------------------------------------------------


async def start_run(
    deps: Deps,
    conn: Conn,
    sync: StoredSync,
    *,
    run_id: str,
    trigger: Trigger,
    due_at: datetime,
    window: Window,
    estimate: int,
) -> bool:
    """Record the run in flight (with the credits it is expected to spend) and put its SyncDue, with
    the full snapshot, in the outbox.

    False (nothing emitted) when another run of the sync is in flight.
    """
    started = await store.insert_run_in_flight(
        conn,
        sync_id=sync.id,
        run_id=run_id,
        trigger=trigger,
        window_kind=window.kind,
        credentials_version=sync.credentials_version,
        started_at=deps.clock(),
        estimated_credits=estimate,
    )
    if started:
        event = build_sync_due(
            snapshot(sync),
            run_id=run_id,
            trigger=trigger,
            due_at=due_at,
            window=window,
            batch_size=deps.settings.batch_size,
        )
        with tracing.run_span(run_id, str(sync.id), trigger):  # the run's trace starts here
            await outbox.enqueue(conn, event)
    return started


# a run completed ----------------------------------------------------------------------------------------


async def record_run_completed(deps: Deps, event: RunCompleted) -> None:
    """Clear the run in flight and book its credits; on success move the watermark and keep the
    run's cost as the estimate of the next; on an auth failure deactivate.

    Idempotent: the event id is recorded in the inbox in the same transaction. A sync whose stored
    spec is unreadable is still cleared and booked: only completing a ``once`` sync needs its spec.
    """
    summary = event.summary
    now = deps.clock()
    async with transaction(deps) as conn:
        if not await inbox.first_time(conn, event):
            return
        sync = await store.get_sync(conn, summary.sync_id, for_update=True)
        if sync is None:
            log.warning("run completed for an unknown sync", sync_id=summary.sync_id)
            return
        finished = await store.finish_run_in_flight(conn, sync.id, summary.run_id)
        await store.record_spend(
            conn,
            run_id=summary.run_id,
            connection_id=sync.connection_id,
            credits=summary.credits,
            at=summary.finished_at or now,
            forget_before=now - 2 * budget.WINDOW,
        )
        # Its estimate no longer holds credits back: whoever waited for them may fit now.
        await store.wake_credit_waiters(conn, sync.connection_id, now)
        if summary.state is RunState.SUCCEEDED:
            kind = _window_kind_of(sync, summary, finished)
            await store.record_run_cost(conn, sync.id, kind, summary.credits)
            await _record_success(conn, sync, summary, kind)
        elif summary.state is RunState.FAILED and event.auth_failed:
            if finished is not None and finished.credentials_version < sync.credentials_version:
                log.info("auth failure of superseded credentials ignored", run_id=summary.run_id)
            else:
                deactivated = await store.deactivate_syncs(conn, sync.connection_id, "auth_failed")
                await notify.after_deactivation(conn, deactivated, "auth_failed", now)
        if isinstance(sync, StoredSync):  # alerts, written with the completion (scheduler.notify)
            await notify.after_run(conn, sync, summary, now)


def _window_kind_of(sync: SyncRow, summary: RunSummary, finished: FinishedRun | None) -> WindowKind:
    if finished is not None:
        return finished.window_kind
    # not the run we recorded (e.g. already cleared): judge by what the run must have asked for
    first = sync.last_success_started_at is None or summary.trigger is Trigger.FULL_RESYNC
    return "full" if first else "incremental"


async def _record_success(
    conn: Conn, sync: StoredSync | UnreadableSync, summary: RunSummary, kind: WindowKind
) -> None:
    if summary.started_at is None:
        log.warning("successful run without a start time; watermark unchanged", run_id=summary.run_id)
    else:
        await store.record_success(conn, sync.id, summary.started_at, kind)
    if isinstance(sync, StoredSync) and sync.spec.schedule.kind == "once" and sync.state == "active":
        await store.set_state(conn, sync.id, "completed", None, None)


# credit budgets -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetCheck:
    estimate: int
    spent: int  # in the last 24 hours, runs in flight counted with their estimates
    budget: int | None
    fits_from: datetime | None  # None: the run may start now


async def check_budget(conn: Conn, sync: SyncRow, kind: WindowKind, now: datetime) -> BudgetCheck:
    """Whether a run of ``sync`` fits its connection's daily credit budget (ADR 0011).

    Locks the connection's budget until the transaction ends, so the run recorded in flight next
    is counted by the next check, whichever replica makes it.
    """
    limit = sync.daily_credit_budget
    estimate = budget.estimate_credits(
        kind,
        last_full=sync.last_full_credits,
        last_incremental=sync.last_incremental_credits,
        budget=limit,
    )
    if limit is None:
        return BudgetCheck(estimate, 0, None, None)
    await store.lock_budget(conn, sync.connection_id)
    spends = await store.credit_spends(conn, sync.connection_id, now - budget.WINDOW)
    spends.append(budget.Spend(now, await store.reserved_credits(conn, sync.connection_id)))
    return BudgetCheck(
        estimate, budget.spent(spends, now), limit, budget.fits_from(limit, spends, estimate, now)
    )


def over_budget(sync: StoredSync, check: BudgetCheck) -> str:
    """Why a manual run is refused, and when it would fit (in the sync's own time zone)."""
    assert check.fits_from is not None
    fits_from = check.fits_from.astimezone(ZoneInfo(sync.spec.schedule.timezone))
    return (
        f"credit budget: connection {sync.connection_name!r} has spent {check.spent} of its "
        f"{check.budget} daily credits in the last 24 hours (runs in flight included) and this run "
        f"needs about {check.estimate}; run it after {fits_from.isoformat()}"
    )
