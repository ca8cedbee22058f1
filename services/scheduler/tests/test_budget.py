"""Daily credit budgets: the estimate, the rolling window, deferred scheduled runs, refused manual runs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import Trigger
from recruit_sync.contracts.resources import EditSync, NoArguments, RunSync, SyncDetail, SyncRef, WindowKind
from recruit_sync.contracts.sync_spec import SyncSpecPatch
from recruit_sync.runtime.db import create_pool
from recruit_sync.runtime.rpc import RpcError
from recruit_sync.scheduler.budget import FIRST_RUN_CREDITS, WINDOW, Spend, estimate_credits, fits_from, spent
from recruit_sync.scheduler.runs import emit_due_runs, record_run_completed
from recruit_sync.scheduler.syncs import run_sync

from .conftest import START, Scheduler, completed

DAILY = {"kind": "daily", "at": "12:30", "timezone": "Asia/Kolkata"}  # 07:00 UTC
LATE_DAILY = {"kind": "daily", "at": "23:00", "timezone": "UTC"}  # not due in the test


# the estimate and the window (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "last_full", "last_incremental", "limit", "expected"),
    [
        ("full", None, None, None, FIRST_RUN_CREDITS),  # never ran: a sizeable first import
        ("full", None, None, 12, 12),  # ... but never more than the budget, or it would never run
        ("incremental", None, None, 1000, FIRST_RUN_CREDITS),
        ("full", 95, 5, 1000, 95),  # the last run of the same kind
        ("incremental", 95, 5, 1000, 5),
        ("incremental", 95, None, 1000, 95),  # no incremental run yet: bounded by a full one
        ("full", 95, 5, 40, 40),
    ],
)
def test_estimate(
    kind: WindowKind, last_full: int | None, last_incremental: int | None, limit: int | None, expected: int
) -> None:
    estimate = estimate_credits(kind, last_full=last_full, last_incremental=last_incremental, budget=limit)
    assert estimate == expected


def test_spending_leaves_the_window_after_24_hours() -> None:
    spends = [Spend(START - WINDOW, 100), Spend(START - WINDOW + timedelta(seconds=1), 7), Spend(START, 3)]
    assert spent(spends, START) == 10


def test_a_run_that_fits_starts_now() -> None:
    assert fits_from(100, [Spend(START - timedelta(hours=1), 60)], 40, START) is None


def test_a_run_that_does_not_fit_waits_for_the_oldest_spends_to_leave() -> None:
    first, second, third = (START - timedelta(hours=h) for h in (20, 10, 1))
    spends = [Spend(third, 30), Spend(first, 30), Spend(second, 30)]  # in any order
    assert fits_from(100, spends, 15, START) == first + WINDOW  # 60 + 15 fit once the first has left
    assert fits_from(100, spends, 45, START) == second + WINDOW  # 30 + 45 need the second gone too
    assert fits_from(100, spends, 100, START) == third + WINDOW


def test_an_estimate_above_the_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="never fit"):
        fits_from(10, [], 11, START)


# in the scheduler ---------------------------------------------------------------------------------------


async def run(s: Scheduler, sync_id: str) -> str:
    started = await s.call(rpc.SYNC_RUN, RunSync(id=sync_id))
    assert started.started
    return started.run_id


async def show(s: Scheduler, sync_id: str) -> SyncDetail:
    return await s.call(rpc.SYNC_GET, SyncRef(id=sync_id))


async def credits_spent(s: Scheduler) -> list[int]:
    return [c.credits_spent for c in await s.call(rpc.CONNECTION_LIST, NoArguments())]


@pytest.mark.integration
async def test_a_due_run_waits_for_the_budget_then_runs(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection(daily_credit_budget=30)
    busy = await s.create_sync(name="busy")
    waiting = await s.create_sync(name="waiting", schedule=DAILY)
    run_id = await run(s, busy)  # the first run: estimated min(FIRST_RUN_CREDITS, 30)
    await record_run_completed(s.deps, completed(run_id, busy, started_at=START, credits=25))
    spent_at = START + timedelta(minutes=1)  # completed() finishes runs a minute after they start

    s.clock.advance(timedelta(days=1))  # 2026-11-21 12:00 UTC; "waiting" was due at 07:00 UTC
    assert await emit_due_runs(s.deps) == 0  # 25 spent + its first-run estimate of 30 > 30
    detail = await s.call_raw(rpc.SYNC_GET.name, {"id": waiting})
    until = (spent_at + WINDOW).astimezone(ZoneInfo("Asia/Kolkata")).isoformat()
    assert detail.result["state"] == "active"
    assert detail.result["next_due_at"] == until == "2026-11-21T17:31:00+05:30"
    assert detail.result["state_reason"] == f"waiting for credit budget until {until}"
    assert await credits_spent(s) == [25]

    s.clock.advance(timedelta(minutes=1))  # 12:01: the 25 credits have left the window
    assert await emit_due_runs(s.deps) == 1
    detail = await s.call_raw(rpc.SYNC_GET.name, {"id": waiting})
    assert detail.result["state_reason"] is None
    assert detail.result["next_due_at"] == "2026-11-22T12:30:00+05:30"
    [scheduled] = [e for e in await s.outbox(topology.SYNC_DUE) if e["trigger"] == Trigger.SCHEDULE]
    assert scheduled["sync_id"] == waiting
    assert await credits_spent(s) == [0]


@pytest.mark.integration
async def test_a_manual_run_over_budget_is_refused_naming_when_it_fits(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection(daily_credit_budget=30)
    sync_id = await s.create_sync(schedule=LATE_DAILY)
    run_id = await run(s, sync_id)
    await record_run_completed(s.deps, completed(run_id, sync_id, started_at=START, credits=12))
    run_id = await run(s, sync_id)  # incremental, estimated as the full run: 12 + 12
    await record_run_completed(s.deps, completed(run_id, sync_id, started_at=START, credits=5))
    run_id = await run(s, sync_id)  # now estimated as the last incremental: 17 + 5
    await record_run_completed(s.deps, completed(run_id, sync_id, started_at=START, credits=5))

    error = await s.refused(rpc.SYNC_RUN, RunSync(id=sync_id, full=True), 409)  # 22 + 12 > 30
    assert error == (
        "credit budget: connection 'acme' has spent 22 of its 30 daily credits in the last 24 hours "
        "(runs in flight included) and this run needs about 12; run it after 2026-11-21T12:01:00+00:00"
    )
    assert await run(s, sync_id)  # an incremental one still fits: 22 + 5


@pytest.mark.integration
async def test_runs_in_flight_hold_their_estimate_until_they_report(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection(daily_credit_budget=60)
    first = await s.create_sync(name="first")
    second = await s.create_sync(name="second", schedule=DAILY)
    run_id = await run(s, first)  # holds FIRST_RUN_CREDITS = 50 while in flight
    s.clock.advance(timedelta(hours=19, minutes=30))  # 07:30 UTC: "second" is due
    assert await emit_due_runs(s.deps) == 0  # 50 reserved + its own 50 > 60
    reason = (await show(s, second)).state_reason
    assert reason is not None and reason.startswith("waiting for credit budget")

    # the run spent far less than feared: the waiting sync is woken and runs at the next tick
    await record_run_completed(s.deps, completed(run_id, first, started_at=s.clock.now, credits=5))
    assert await emit_due_runs(s.deps) == 1
    assert (await show(s, second)).state_reason is None


@pytest.mark.integration
async def test_runs_started_at_once_through_two_replicas_never_overspend(db_scheduler: Scheduler) -> None:
    """Four syncs run at once through two scheduler replicas, with room for one run: one starts."""
    s = db_scheduler
    await s.add_connection(daily_credit_budget=FIRST_RUN_CREDITS)
    ids = [await s.create_sync(name=f"sync {i}", schedule=LATE_DAILY) for i in range(4)]
    other_pool = await create_pool(s.deps.settings.database_url, "scheduler")
    try:
        replicas = [s.deps, replace(s.deps, pool=other_pool)] * 2
        runs = [run_sync(deps, RunSync(id=sync_id)) for deps, sync_id in zip(replicas, ids, strict=True)]
        results = await asyncio.gather(*runs, return_exceptions=True)
    finally:
        await other_pool.close()
    refused = [r for r in results if isinstance(r, RpcError)]
    assert len(refused) == 3 and all(r.status == 409 and "credit budget" in str(r) for r in refused)
    async with s.deps.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM runs_in_flight") == 1


@pytest.mark.integration
async def test_without_a_budget_nothing_waits(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync(schedule=DAILY)
    run_id = await run(s, sync_id)
    await record_run_completed(s.deps, completed(run_id, sync_id, started_at=START, credits=1_000_000))
    s.clock.advance(timedelta(days=1))
    assert await emit_due_runs(s.deps) == 1


@pytest.mark.integration
async def test_pausing_or_a_new_schedule_ends_the_wait(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection(daily_credit_budget=10)
    sync_id = await s.create_sync(schedule=DAILY)
    run_id = await run(s, sync_id)
    await record_run_completed(s.deps, completed(run_id, sync_id, started_at=START, credits=10))
    s.clock.advance(timedelta(hours=20))
    assert await emit_due_runs(s.deps) == 0
    assert (await show(s, sync_id)).state_reason is not None

    weekly = SyncSpecPatch.model_validate(
        {"schedule": {"kind": "weekly", "weekday": "monday", "at": "09:00", "timezone": "UTC"}}
    )
    edited = await s.call(rpc.SYNC_EDIT, EditSync(id=sync_id, patch=weekly))
    assert (edited.state_reason, edited.next_due_at) == (None, START + timedelta(days=2, hours=21))
    await s.call(rpc.SYNC_PAUSE, SyncRef(id=sync_id))
    activated = await s.call(rpc.SYNC_ACTIVATE, SyncRef(id=sync_id))
    assert activated.state_reason is None
