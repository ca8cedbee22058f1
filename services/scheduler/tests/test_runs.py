"""Runs: run now, the in-flight guard, completion and the watermark, deactivation, the tick."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import orjson
import pytest

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import RunState, Trigger
from recruit_sync.contracts.ids import run_id_for_schedule
from recruit_sync.contracts.resources import EditSync, NoArguments, Rekey, RunSync, SyncDetail, SyncRef
from recruit_sync.contracts.sync_spec import SyncSpecPatch
from recruit_sync.runtime import crypto
from recruit_sync.runtime.db import create_pool
from recruit_sync.scheduler.runs import emit_due_runs, record_run_completed

from .conftest import CLIENT_SECRET, REFRESH_TOKEN, START, Scheduler, completed

pytestmark = pytest.mark.integration

DAILY = {"kind": "daily", "at": "12:30", "timezone": "UTC"}


def assert_no_secrets(scheduler: Scheduler) -> None:
    for reply in scheduler.replies:
        assert CLIENT_SECRET.encode() not in reply and REFRESH_TOKEN.encode() not in reply


async def run(s: Scheduler, sync_id: str, *, full: bool = False) -> str:
    started = await s.call(rpc.SYNC_RUN, RunSync(id=sync_id, full=full))
    assert started.started
    return started.run_id


async def show(s: Scheduler, sync_id: str) -> SyncDetail:
    return await s.call(rpc.SYNC_GET, SyncRef(id=sync_id))


# run now, on the real broker ------------------------------------------------------------------------------


async def test_run_now_publishes_one_snapshot_with_encrypted_secrets(scheduler: Scheduler) -> None:
    assert scheduler.tap is not None
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync(
        mapping=[{"from": "Skill_Set", "to": "skills"}], options={"exclude_opt_out": True}
    )
    run_id = await run(scheduler, sync_id)
    again = await scheduler.call(rpc.SYNC_RUN, RunSync(id=sync_id, full=True))
    assert (again.run_id, again.started) == (run_id, False)  # in flight: not started twice

    [due] = await scheduler.tap.take(topology.SYNC_DUE)
    assert (due["run_id"], due["sync_id"], due["trigger"]) == (run_id, sync_id, "manual")
    assert due["correlation_id"] == run_id and due["sync_name"] == "IT graduates"
    assert (due["module"], due["selection"], due["since"], due["deleted_since"]) == (
        "Candidates",
        {"kind": "all"},
        None,
        None,
    )
    connection = due["connection"]
    assert crypto.decrypt(connection["client_secret_enc"]) == CLIENT_SECRET
    assert crypto.decrypt(connection["refresh_token_enc"]) == REFRESH_TOKEN
    assert CLIENT_SECRET not in orjson.dumps(due).decode()
    settings = due["settings"]
    assert settings["list_name"] == "IT talent" and settings["settings_version"] == 1
    assert [m["to"] for m in settings["mapping"]] == ["email", "first_name", "last_name", "skills"]
    assert settings["options"]["exclude_opt_out"] is True
    enabled_at = settings["options_enabled_at"]  # an RFC 3339 time: "Z" or "+00:00", as the encoder writes it
    assert {k: datetime.fromisoformat(v) for k, v in enabled_at.items()} == {"exclude_opt_out": START}
    assert due["batch_size"] == 500
    assert await scheduler.outbox(topology.SYNC_DUE) == []  # published: nothing left unsent
    assert (await show(scheduler, sync_id)).run_in_flight == run_id
    assert_no_secrets(scheduler)


# run now and completion (database only) --------------------------------------------------------------------


async def test_completion_moves_the_watermark_and_later_runs_are_incremental(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    after = (START - timedelta(days=10)).isoformat()
    sync_id = await s.create_sync(retrieval={"kind": "after", "after": after})
    first = await run(s, sync_id)
    [due] = await s.outbox(topology.SYNC_DUE)
    assert (
        due["since"]
        == due["deleted_since"]
        == (START - timedelta(days=10)).isoformat().replace("+00:00", "Z")
    )

    started = START + timedelta(minutes=1)
    event = completed(first, sync_id, started_at=started)
    await record_run_completed(s.deps, event)
    detail = await show(s, sync_id)
    assert detail.run_in_flight is None
    assert (detail.last_retrieval_at, detail.last_retrieval_kind) == (started, "full")

    second = await run(s, sync_id)
    assert second != first
    due = (await s.outbox(topology.SYNC_DUE))[-1]
    since = datetime.fromisoformat(due["since"])
    assert since == started - timedelta(minutes=5) and due["deleted_since"] == due["since"]

    await record_run_completed(s.deps, event)  # a redelivery of the first completion changes nothing
    assert (await show(s, sync_id)).run_in_flight == second
    async with s.deps.pool.acquire() as conn:
        handled = await conn.fetch("SELECT event_id, event_type FROM inbox")
    assert [(row["event_id"], row["event_type"]) for row in handled] == [(event.event_id, "run.completed")]

    await record_run_completed(s.deps, completed(second, sync_id, started_at=started + timedelta(hours=1)))
    assert (await show(s, sync_id)).last_retrieval_kind == "incremental"
    full = await run(s, sync_id, full=True)
    due = (await s.outbox(topology.SYNC_DUE))[-1]
    assert (due["run_id"], due["trigger"], due["since"], due["deleted_since"]) == (
        full,
        "full_resync",
        None,
        None,
    )


async def test_a_late_report_of_an_older_run_does_not_move_the_watermark_back(
    db_scheduler: Scheduler,
) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync()
    new = START + timedelta(hours=2)
    await record_run_completed(s.deps, completed("r2", sync_id, started_at=new))
    await record_run_completed(s.deps, completed("r1", sync_id, started_at=START))
    assert (await show(s, sync_id)).last_retrieval_at == new


async def test_a_once_sync_runs_at_once_and_completes(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync()  # schedule once, no time: due now
    assert (await show(s, sync_id)).next_due_at == START
    assert await emit_due_runs(s.deps) == 1
    [due] = await s.outbox(topology.SYNC_DUE)
    assert due["trigger"] == "schedule" and due["run_id"] == run_id_for_schedule(sync_id, START)
    assert (await show(s, sync_id)).next_due_at is None
    await record_run_completed(
        s.deps, completed(due["run_id"], sync_id, started_at=START, trigger=Trigger.SCHEDULE)
    )
    detail = await show(s, sync_id)
    assert (detail.state, detail.next_due_at, detail.run_in_flight) == ("completed", None, None)


async def test_run_refuses_an_unknown_or_inactive_sync(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync(schedule=DAILY)
    assert await s.refused(rpc.SYNC_RUN, RunSync(id="ghost"), 404) == "no sync with id or name 'ghost'"
    await s.call(rpc.CONNECTION_REKEY, Rekey(name="acme", client_secret="another-secret"))
    assert await s.refused(rpc.SYNC_RUN, RunSync(id=sync_id), 409) == (
        "sync 'IT graduates' is inactive (credentials_changed); activate it before running it"
    )
    s.clock.advance(timedelta(days=3))
    assert await emit_due_runs(s.deps) == 0  # an inactive sync never runs
    assert await s.outbox(topology.SYNC_DUE) == []
    await s.call(rpc.SYNC_ACTIVATE, SyncRef(id=sync_id))
    assert await run(s, sync_id)


# deactivation -----------------------------------------------------------------------------------------------


async def test_rekey_deactivates_every_sync_of_that_connection_only(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection("acme")
    await s.add_connection("other")
    one = await s.create_sync(name="one", schedule=DAILY)
    paused = await s.create_sync(name="paused")
    await s.call(rpc.SYNC_PAUSE, SyncRef(id=paused))
    elsewhere = await s.create_sync(name="elsewhere", connection="other")
    result = await s.call(rpc.CONNECTION_REKEY, Rekey(name="acme", primary_email="ops@acme.example"))
    assert sorted(result.deactivated) == sorted([one, paused])
    for sync_id in (one, paused):
        detail = await show(s, sync_id)
        assert (detail.state, detail.state_reason, detail.next_due_at) == (
            "inactive",
            "credentials_changed",
            None,
        )
    assert (await show(s, elsewhere)).state == "active"
    versions = {c.name: c.credentials_version for c in await s.call(rpc.CONNECTION_LIST, NoArguments())}
    assert versions == {"acme": 2, "other": 1}
    missing = await s.refused(rpc.CONNECTION_REKEY, Rekey(name="ghost", refresh_token="x"), 404)
    assert missing == "no connection named 'ghost'"
    assert await s.refused(rpc.CONNECTION_REKEY, {"name": "acme"}, 400) == (
        "(spec): give at least one of refresh_token, client_id, client_secret, primary_email"
    )


async def test_rekey_can_replace_the_client_id(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync()
    await s.call(rpc.CONNECTION_REKEY, Rekey(name="acme", client_id="another-client"))
    [listed] = await s.call(rpc.CONNECTION_LIST, NoArguments())
    assert (listed.client_id, listed.credentials_version) == ("another-client", 2)
    await s.call(rpc.SYNC_ACTIVATE, SyncRef(id=sync_id))
    await run(s, sync_id)
    [due] = await s.outbox(topology.SYNC_DUE)
    assert (due["connection"]["client_id"], due["connection"]["credentials_version"]) == ("another-client", 2)


async def test_auth_failure_deactivates_the_connections_syncs(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection("acme")
    await s.add_connection("other")
    one = await s.create_sync(name="one")
    two = await s.create_sync(name="two")
    elsewhere = await s.create_sync(name="elsewhere", connection="other")
    run_id = await run(s, one)
    await record_run_completed(s.deps, completed(run_id, one, RunState.FAILED, started_at=START))
    assert (await show(s, one)).state == "active"  # an ordinary failure deactivates nothing

    run_id = await run(s, one)
    await record_run_completed(
        s.deps, completed(run_id, one, RunState.FAILED, started_at=START, auth_failed=True)
    )
    states = {d.id: (d.state, d.state_reason) for d in await s.call(rpc.SYNC_LIST, NoArguments())}
    assert states == {
        one: ("inactive", "auth_failed"),
        two: ("inactive", "auth_failed"),
        elsewhere: ("active", None),
    }
    async with s.deps.pool.acquire() as conn:  # deactivation announces nothing (no one listened)
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox WHERE routing_key <> $1", topology.SYNC_DUE) == 0
        )


async def test_an_auth_failure_of_replaced_credentials_is_ignored(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync()
    run_id = await run(s, sync_id)
    await s.call(rpc.CONNECTION_REKEY, Rekey(name="acme", refresh_token="fresh"))
    await s.call(rpc.SYNC_ACTIVATE, SyncRef(id=sync_id))
    await record_run_completed(
        s.deps, completed(run_id, sync_id, RunState.FAILED, started_at=START, auth_failed=True)
    )
    assert (await show(s, sync_id)).state == "active"


# the tick --------------------------------------------------------------------------------------------------


async def test_two_concurrent_claimers_emit_each_due_run_once(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    ids = [await s.create_sync(name=f"sync {i}", schedule=DAILY) for i in range(60)]
    busy = ids[0]
    manual = await run(s, busy)
    s.clock.advance(timedelta(hours=1))  # 13:00: every sync was due at 12:30
    other_pool = await create_pool(s.deps.settings.database_url, "scheduler")
    try:
        replica = replace(s.deps, pool=other_pool)
        counts = await asyncio.gather(*(emit_due_runs(d) for d in (s.deps, replica, s.deps, replica)))
    finally:
        await other_pool.close()
    assert sum(counts) == 59  # the sync with a manual run in flight waits for it
    scheduled = [e for e in await s.outbox(topology.SYNC_DUE) if e["trigger"] == "schedule"]
    due_at = START + timedelta(minutes=30)
    assert sorted(e["sync_id"] for e in scheduled) == sorted(ids[1:])
    assert all(e["run_id"] == run_id_for_schedule(e["sync_id"], due_at) for e in scheduled)
    assert (await show(s, ids[1])).next_due_at == START + timedelta(days=1, minutes=30)
    assert await emit_due_runs(s.deps) == 0

    # once the manual run ends, the waiting sync runs its scheduled run, once
    await record_run_completed(s.deps, completed(manual, busy, started_at=START))
    assert await emit_due_runs(s.deps) == 1
    assert (await show(s, busy)).next_due_at == START + timedelta(days=1, minutes=30)


async def test_downtime_gives_one_catch_up_run(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync(schedule=DAILY)
    s.clock.advance(timedelta(days=5))
    assert await emit_due_runs(s.deps) == 1
    assert await emit_due_runs(s.deps) == 0
    assert len(await s.outbox(topology.SYNC_DUE)) == 1
    assert (await show(s, sync_id)).next_due_at == START + timedelta(days=5, minutes=30)


async def test_paused_syncs_are_not_claimed(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync(schedule=DAILY)
    await s.call(rpc.SYNC_PAUSE, SyncRef(id=sync_id))
    s.clock.advance(timedelta(days=1))
    assert await emit_due_runs(s.deps) == 0
    assert await run(s, sync_id)  # a paused sync can still be run by hand


async def test_a_new_selection_rereads_the_retrieval_window(db_scheduler: Scheduler) -> None:
    """Records that newly match were not necessarily modified since the last run: read them all again."""
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync()

    async def edit(**patch: object) -> SyncDetail:
        return await s.call(rpc.SYNC_EDIT, EditSync(id=sync_id, patch=SyncSpecPatch.model_validate(patch)))

    run_id = await run(s, sync_id)
    await record_run_completed(s.deps, completed(run_id, sync_id, started_at=START))
    await edit(options={"exclude_opt_out": True})
    run_id = await run(s, sync_id)
    assert (await s.outbox(topology.SYNC_DUE))[-1][
        "since"
    ] is not None  # this option change stays incremental
    await record_run_completed(s.deps, completed(run_id, sync_id, started_at=START + timedelta(hours=1)))

    selection = {"kind": "custom_view", "cvid": "5001"}
    assert (await edit(selection=selection)).settings_version == 3
    await run(s, sync_id)
    due = (await s.outbox(topology.SYNC_DUE))[-1]
    assert (due["since"], due["selection"], due["settings"]["settings_version"]) == (None, selection, 3)


async def test_an_unreadable_stored_spec_pauses_that_sync_only(db_scheduler: Scheduler) -> None:
    s = db_scheduler
    await s.add_connection()
    broken = await s.create_sync(name="broken", schedule=DAILY)
    fine = await s.create_sync(name="fine", schedule=DAILY)
    run_id = await run(s, broken)
    async with s.deps.pool.acquire() as conn:  # as if a newer contract refused what an older one stored
        await conn.execute("UPDATE syncs SET spec = spec || '{\"legacy\": 1}' WHERE name = 'broken'")
    # its run in flight still finishes: cleared and its credits booked
    await record_run_completed(s.deps, completed(run_id, broken, started_at=START, credits=7))
    s.clock.advance(timedelta(days=1))
    assert await emit_due_runs(s.deps) == 1
    assert [e["sync_id"] for e in await s.outbox(topology.SYNC_DUE) if e["trigger"] == "schedule"] == [fine]
    async with s.deps.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT s.state, s.state_reason, s.last_full_credits, f.run_id AS in_flight "
            "FROM syncs s LEFT JOIN runs_in_flight f ON f.sync_id = s.id WHERE s.id = $1::uuid",
            broken,
        )
    assert row is not None
    assert (row["state"], row["state_reason"]) == ("paused", "invalid_settings: legacy: unknown key")
    assert (row["last_full_credits"], row["in_flight"]) == (7, None)
