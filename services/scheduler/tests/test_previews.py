"""Planning a preview (``sync preview``): the SyncDue a run of a sync, or of a new spec, would carry now;
refused as ``run now`` and ``sync create`` refuse; and nothing written, whatever the answer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import SyncDue, Trigger
from recruit_sync.contracts.resources import Favourite, PreviewRequest, Rekey, RunSync, SyncRef
from recruit_sync.contracts.sync_spec import SyncSpec
from recruit_sync.runtime import crypto
from recruit_sync.scheduler.runs import record_run_completed

from .conftest import CLIENT_SECRET, REFRESH_TOKEN, START, Scheduler, completed

pytestmark = pytest.mark.integration

# what tells one run from another; everything else a preview plans is what the run will carry
RUN_IDENTITY = {"event_id", "occurred_at", "correlation_id", "causation_id", "run_id"}
SPEC = {"name": "IT graduates", "connection": "acme", "list": "IT talent"}


@pytest.fixture
def s(db_scheduler: Scheduler) -> Scheduler:
    """No broker: a preview must leave the outbox empty, and a run's SyncDue stays there to compare."""
    return db_scheduler


async def everything(s: Scheduler) -> dict[str, list[str]]:
    """Every row of every scheduler table, to compare before and after a preview."""
    async with s.deps.pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        names = sorted(row["table_name"] for row in tables)
        assert {"syncs", "sync_versions", "runs_in_flight", "outbox", "credit_spend"} <= set(names)
        return {
            name: sorted(repr(dict(row)) for row in await conn.fetch(f'SELECT * FROM "{name}"'))
            for name in names
        }


def planned(due: SyncDue | dict[str, Any], *, without: set[str] = RUN_IDENTITY) -> dict[str, Any]:
    return SyncDue.model_validate(due).model_dump(mode="json", exclude=without)


def spec_request(**spec: Any) -> PreviewRequest:
    return PreviewRequest(spec=SyncSpec.model_validate({**SPEC, **spec}))


def assert_no_secrets(s: Scheduler) -> None:
    for reply in s.replies:
        assert CLIENT_SECRET.encode() not in reply and REFRESH_TOKEN.encode() not in reply


async def test_a_sync_is_planned_as_its_next_run_will_run_and_nothing_is_written(s: Scheduler) -> None:
    await s.add_connection()
    after = START - timedelta(days=10)
    sync_id = await s.create_sync(
        retrieval={"kind": "after", "after": after.isoformat()},
        schedule={"kind": "daily", "at": "09:00", "timezone": "Asia/Kolkata"},
        mapping=[{"from": "Skill_Set", "to": "skills"}],
        options={"exclude_opt_out": True},
    )
    detail = await s.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    before = await everything(s)

    plan = await s.call(rpc.SYNC_PREVIEW_PLAN, PreviewRequest(id=sync_id))
    assert await everything(s) == before  # no run in flight, no outbox row, same due time and watermark
    assert await s.call(rpc.SYNC_GET, SyncRef(id=sync_id)) == detail
    prefix, _, rest = plan.run_id.partition("-")
    assert prefix == "preview" and uuid.UUID(hex=rest).hex == rest
    assert (plan.sync_id, plan.trigger, plan.due_at, plan.batch_size) == (sync_id, Trigger.MANUAL, START, 500)
    assert plan.since == plan.deleted_since == after  # the first run reads the retrieval window
    assert plan.settings.options_enabled_at == {"exclude_opt_out": START}
    assert [m.to for m in plan.settings.mapping] == ["email", "first_name", "last_name", "skills"]
    assert crypto.decrypt(plan.connection.client_secret_enc) == CLIENT_SECRET
    assert_no_secrets(s)

    # the run started now carries the same, run identity apart
    started = await s.call(rpc.SYNC_RUN, RunSync(id=sync_id))
    [due] = await s.outbox(topology.SYNC_DUE)
    assert due["run_id"] == started.run_id != plan.run_id
    assert planned(due) == planned(plan)


async def test_after_a_success_the_plan_is_incremental_from_the_watermark(s: Scheduler) -> None:
    await s.add_connection()
    sync_id = await s.create_sync()
    full = await s.call(rpc.SYNC_PREVIEW_PLAN, PreviewRequest(id="IT graduates"))  # by name
    assert (full.sync_id, full.since, full.deleted_since) == (sync_id, None, None)

    run_started = START + timedelta(minutes=1)
    started = await s.call(rpc.SYNC_RUN, RunSync(id=sync_id))
    await record_run_completed(s.deps, completed(started.run_id, sync_id, started_at=run_started))
    s.clock.advance(timedelta(hours=3))
    before = await everything(s)

    plan = await s.call(rpc.SYNC_PREVIEW_PLAN, PreviewRequest(id=sync_id))
    assert plan.since == plan.deleted_since == run_started - timedelta(minutes=5)
    assert plan.due_at == START + timedelta(hours=3)
    assert await everything(s) == before

    # a preview of a full resync would be a different request: the plan is what the next run asks for
    await s.call(rpc.SYNC_RUN, RunSync(id=sync_id))
    due = (await s.outbox(topology.SYNC_DUE))[-1]
    assert planned(due) == planned(plan)


async def test_a_spec_is_planned_as_the_first_run_of_a_sync_created_now(s: Scheduler) -> None:
    connection_id = await s.add_connection()
    favourite = Favourite.model_validate({"name": "recruiting", "mapping": [{"from": "City", "to": "city"}]})
    await s.call(rpc.FAVOURITE_SAVE, favourite)
    existing = await s.create_sync()  # a spec may share a stored sync's name: previews try variants
    after = START - timedelta(days=3)
    spec = {
        "retrieval": {"kind": "after", "after": after.isoformat()},
        "options": {"exclude_converted": True, "on_recruit_delete": "remove_from_list"},
        "favourite": "recruiting",
        "mapping": [{"from": "Skill_Set", "to": "skills"}],
    }
    before = await everything(s)

    plan = await s.call(rpc.SYNC_PREVIEW_PLAN, spec_request(**spec))
    assert await everything(s) == before
    assert plan.sync_id != existing and str(uuid.UUID(plan.sync_id)) == plan.sync_id
    assert plan.run_id.startswith("preview-") and plan.trigger is Trigger.MANUAL and plan.due_at == START
    assert plan.since == plan.deleted_since == after
    assert plan.settings.settings_version == 1
    assert plan.settings.options_enabled_at == {"exclude_converted": START, "on_recruit_delete": START}
    assert [m.to for m in plan.settings.mapping] == ["email", "first_name", "last_name", "city", "skills"]
    assert (plan.connection.connection_id, plan.connection.name) == (connection_id, "acme")
    assert crypto.decrypt(plan.connection.refresh_token_enc) == REFRESH_TOKEN
    assert_no_secrets(s)

    # the same spec created (under a free name) and run now: the same SyncDue, but for its sync
    created = await s.create_sync(**{**spec, "name": "IT graduates, tried"})
    await s.call(rpc.SYNC_RUN, RunSync(id=created))
    [due] = await s.outbox(topology.SYNC_DUE)
    without = RUN_IDENTITY | {"sync_id", "sync_name"}
    assert planned(due, without=without) == planned(plan, without=without)


async def test_what_a_run_or_create_refuses_a_preview_refuses_writing_nothing(s: Scheduler) -> None:
    await s.add_connection(daily_credit_budget=30)
    sync_id = await s.create_sync()
    started = await s.call(rpc.SYNC_RUN, RunSync(id=sync_id))
    await record_run_completed(s.deps, completed(started.run_id, sync_id, started_at=START, credits=25))
    await s.create_sync(name="other")
    before = await everything(s)
    refused = s.refused

    assert await refused(rpc.SYNC_PREVIEW_PLAN, PreviewRequest(id="ghost"), 404) == (
        "no sync with id or name 'ghost'"
    )
    # 25 spent in the last 24 hours and a full first run estimated at 30: as ``run now`` says
    over = await refused(rpc.SYNC_PREVIEW_PLAN, PreviewRequest(id="other"), 409)
    assert over.startswith("credit budget: connection 'acme' has spent 25 of its 30 daily credits")
    assert await refused(rpc.SYNC_PREVIEW_PLAN, spec_request(connection="ghost"), 400) == (
        "connection: no connection named 'ghost'"
    )
    assert await refused(rpc.SYNC_PREVIEW_PLAN, spec_request(favourite="nope"), 400) == (
        "favourite: no saved mapping named 'nope'"
    )
    old = {"kind": "after", "after": (START - timedelta(days=31)).isoformat()}
    too_old = await refused(rpc.SYNC_PREVIEW_PLAN, spec_request(retrieval=old), 400)
    assert too_old.startswith("retrieval.after:") and "more than 30 days" in too_old
    unused = {
        "kind": "criteria",
        "conditions": [
            {"field": "City", "operator": "equals", "value": "Pune"},
            {"field": "State", "operator": "equals", "value": "MH"},
        ],
        "pattern": "( 1 )",
    }
    assert await refused(rpc.SYNC_PREVIEW_PLAN, spec_request(selection=unused), 400) == (
        "selection.pattern: condition 2 is not used"
    )
    bad_shape = await refused(rpc.SYNC_PREVIEW_PLAN, {"spec": {**SPEC, "schedule": {"kind": "daily"}}}, 400)
    assert bad_shape.startswith("spec.schedule:")
    both = await refused(rpc.SYNC_PREVIEW_PLAN, {"id": sync_id, "spec": SPEC}, 400)
    assert "give either id" in both
    assert "give either id" in await refused(rpc.SYNC_PREVIEW_PLAN, {}, 400)
    assert await everything(s) == before

    await s.call(rpc.CONNECTION_REKEY, Rekey(name="acme", client_secret="another-secret"))
    before = await everything(s)
    assert await refused(rpc.SYNC_PREVIEW_PLAN, PreviewRequest(id=sync_id), 409) == (
        "sync 'IT graduates' is inactive (credentials_changed); activate it before running it"
    )
    assert await everything(s) == before
    assert_no_secrets(s)
