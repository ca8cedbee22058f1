"""Connections, syncs and favourites through the RPC operations, on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recruit_sync.contracts import rpc
from recruit_sync.contracts.resources import (
    MAX_INT32,
    CreateSync,
    EditSync,
    Favourite,
    NoArguments,
    SyncRef,
)
from recruit_sync.contracts.sync_spec import FieldMapping, SyncSpec, SyncSpecPatch
from recruit_sync.scheduler import store

from .conftest import CLIENT_SECRET, REFRESH_TOKEN, START, Scheduler, connection

pytestmark = pytest.mark.integration

WEEKLY_KOLKATA = {"kind": "weekly", "weekday": "monday", "at": "09:30", "timezone": "Asia/Kolkata"}
NOTHING = NoArguments()


@pytest.fixture
def scheduler(db_scheduler: Scheduler) -> Scheduler:
    """These tests need no broker: whatever they cause stays in the outbox."""
    return db_scheduler


def assert_no_secrets(scheduler: Scheduler) -> None:
    for reply in scheduler.replies:
        assert CLIENT_SECRET.encode() not in reply and REFRESH_TOKEN.encode() not in reply


def edit(sync_id: str, **patch: object) -> EditSync:
    return EditSync(id=sync_id, patch=SyncSpecPatch.model_validate(patch))


async def test_connections_are_listed_without_secrets(scheduler: Scheduler) -> None:
    connection_id = await scheduler.add_connection()
    listed = await scheduler.call(rpc.CONNECTION_LIST, NOTHING)
    assert [(c.id, c.name, c.credentials_version, c.credits_spent) for c in listed] == [
        (connection_id, "acme", 1, 0)
    ]
    assert listed[0].created_at == START
    raw = await scheduler.call_raw(rpc.CONNECTION_LIST.name)
    assert not any("secret" in key or "token" in key for key in raw.result[0])
    assert raw.result[0]["created_at"] == START.isoformat()
    async with scheduler.deps.pool.acquire() as conn:
        stored = await store.connection_by_name(conn, "acme")
    assert stored is not None and CLIENT_SECRET not in stored["client_secret_enc"]  # encrypted at rest
    assert_no_secrets(scheduler)


async def test_connection_add_refuses_duplicates_and_bad_urls(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    duplicate = connection(base_url="https://recruit.zoho.eu")
    assert await scheduler.refused(rpc.CONNECTION_ADD, duplicate, 409) == (
        "name: a connection named 'acme' already exists"
    )
    bad_url = {**connection("other").model_dump(), "base_url": "recruit.zoho.eu"}
    error = await scheduler.refused(rpc.CONNECTION_ADD, bad_url, 400)
    assert error.startswith("base_url:") and "not an http(s) URL" in error and CLIENT_SECRET not in error


async def test_requests_with_unknown_keys_or_wrong_types_are_refused_naming_the_key(
    scheduler: Scheduler,
) -> None:
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync()
    assert await scheduler.refused(rpc.SYNC_GET, {"id": sync_id, "verbose": True}, 400) == (
        "verbose: unknown key"
    )
    wrong_type = await scheduler.refused(rpc.SYNC_RUN, {"id": sync_id, "full": "maybe"}, 400)
    assert wrong_type.startswith("full: ") and "boolean" in wrong_type
    assert (await scheduler.refused(rpc.SYNC_GET, {}, 400)).startswith("id: ")
    patch = await scheduler.refused(rpc.SYNC_EDIT, {"id": sync_id, "patch": {"module": "Contacts"}}, 400)
    assert patch == "patch.module: unknown key"
    assert_no_secrets(scheduler)


async def test_a_credit_budget_beyond_a_database_integer_is_a_bad_request(scheduler: Scheduler) -> None:
    """Refused by the request model with the field named, never reaching the integer column."""
    huge = {**connection().model_dump(), "daily_credit_budget": MAX_INT32 + 1}
    error = await scheduler.refused(rpc.CONNECTION_ADD, huge, 400)
    assert error.startswith("daily_credit_budget: ") and str(MAX_INT32) in error
    assert await scheduler.call(rpc.CONNECTION_LIST, NOTHING) == []
    assert await scheduler.add_connection(daily_credit_budget=MAX_INT32)


async def test_create_get_and_list_a_sync(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync(
        schedule=WEEKLY_KOLKATA,
        mapping=[{"from": "Skill_Set", "to": "skills"}],
        options={"exclude_opt_out": True},
    )
    reply = await scheduler.call_raw(rpc.SYNC_GET.name, {"id": sync_id})
    assert reply.ok, reply
    # the JSON of INTERFACE.md's ``sync show --json``, exactly
    assert reply.result == {
        "id": sync_id,
        "name": "IT graduates",
        "state": "active",
        "state_reason": None,
        # START is Friday 2026-11-20 12:00 UTC: the first Monday 09:30 IST is the 23rd, with its offset
        "next_due_at": "2026-11-23T09:30:00+05:30",
        "last_retrieval_at": None,
        "last_retrieval_kind": None,
        "settings_version": 1,
        "created_at": "2026-11-20T17:30:00+05:30",
        "connection": "acme",
        "spec": {
            "name": "IT graduates",
            "connection": "acme",
            "module": "Candidates",
            "selection": {"kind": "all"},
            "list": "IT talent",
            "options": {"exclude_opt_out": True, "on_recruit_delete": "keep", "exclude_converted": False},
            "schedule": {**WEEKLY_KOLKATA, "day": None},
            "retrieval": {"kind": "all", "after": None},
            "mapping": [{"from": "Skill_Set", "to": "skills"}],
            "favourite": None,
            "alerts": [],
        },
        "mapping": [
            {"from": "Email", "to": "email"},
            {"from": "First_Name", "to": "first_name"},
            {"from": "Last_Name", "to": "last_name"},
            {"from": "Skill_Set", "to": "skills"},
        ],
        "timezone": "Asia/Kolkata",
        "options_enabled_at": {"exclude_opt_out": START.isoformat()},
        "run_in_flight": None,
    }
    detail = await scheduler.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    assert await scheduler.call(rpc.SYNC_GET, SyncRef(id="IT graduates")) == detail  # by name too
    assert await scheduler.call(rpc.SYNC_LIST, NOTHING) == [detail]
    assert await scheduler.refused(rpc.SYNC_GET, SyncRef(id="nope"), 404) == "no sync with id or name 'nope'"


async def test_create_refuses_what_it_cannot_run(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    base = {"name": "s", "connection": "acme", "list": "l"}

    def create(**spec: object) -> CreateSync:
        return CreateSync(spec=SyncSpec.model_validate({**base, **spec}))

    bad_shape = await scheduler.refused(
        rpc.SYNC_CREATE, {"spec": {**base, "schedule": {"kind": "daily"}}}, 400
    )
    assert bad_shape.startswith("spec.schedule:") and "needs 'at'" in bad_shape
    missing = await scheduler.refused(rpc.SYNC_CREATE, create(connection="ghost"), 400)
    assert missing == "connection: no connection named 'ghost'"
    old = (START - timedelta(days=31)).isoformat()
    too_old = await scheduler.refused(rpc.SYNC_CREATE, create(retrieval={"kind": "after", "after": old}), 400)
    assert (
        too_old.startswith("retrieval.after:") and "more than 30 days before the sync's creation" in too_old
    )
    unknown = await scheduler.refused(rpc.SYNC_CREATE, create(favourite="nope"), 400)
    assert unknown == "favourite: no saved mapping named 'nope'"
    unused = {
        "kind": "criteria",
        "conditions": [
            {"field": "City", "operator": "equals", "value": "Pune"},
            {"field": "State", "operator": "equals", "value": "MH"},
        ],
        "pattern": "( 1 )",
    }
    criteria = await scheduler.refused(rpc.SYNC_CREATE, create(selection=unused), 400)
    assert criteria == "selection.pattern: condition 2 is not used"
    await scheduler.create_sync(name="s")
    assert await scheduler.refused(rpc.SYNC_CREATE, create(), 409) == "name: a sync named 's' already exists"
    assert [d.name for d in await scheduler.call(rpc.SYNC_LIST, NOTHING)] == ["s"]


async def test_favourites_are_saved_listed_and_loaded(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    mapping = [{"from": "Current_Employer", "to": "company"}, {"from": "Skill_Set", "to": "skills"}]
    recruiting = Favourite.model_validate({"name": "recruiting", "mapping": mapping})
    saved = await scheduler.call(rpc.FAVOURITE_SAVE, recruiting)
    assert saved.name == "recruiting"
    listed = await scheduler.call_raw(rpc.FAVOURITE_LIST.name)
    assert listed.result == [{"name": "recruiting", "mapping": mapping}]
    bad = await scheduler.refused(
        rpc.FAVOURITE_SAVE, {"name": "x", "mapping": [{"from": "A", "to": "email"}]}, 400
    )
    assert bad.startswith("mapping.0") and "email" in bad
    sync_id = await scheduler.create_sync(favourite="recruiting", mapping=[{"from": "City", "to": "city"}])
    detail = await scheduler.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    assert [(m.from_, m.to) for m in detail.spec.mapping] == [
        ("Current_Employer", "company"),
        ("Skill_Set", "skills"),
        ("City", "city"),
    ]
    assert detail.spec.favourite == "recruiting"
    # the sync keeps its copy when the favourite changes later
    await scheduler.call(rpc.FAVOURITE_SAVE, Favourite(name="recruiting", mapping=recruiting.mapping[:1]))
    assert (await scheduler.call(rpc.SYNC_GET, SyncRef(id=sync_id))).spec.mapping == detail.spec.mapping


async def test_edit_versions_settings_and_times_options(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync(
        schedule={"kind": "daily", "at": "09:00", "timezone": "Europe/London"}
    )
    later = scheduler.clock.advance(timedelta(hours=1))
    city = [{"from": "City", "to": "city"}]
    patch = edit(
        sync_id, options={"on_recruit_delete": "remove_from_list"}, schedule=WEEKLY_KOLKATA, mapping=city
    )
    detail = await scheduler.call(rpc.SYNC_EDIT, patch)
    assert detail.settings_version == 2
    assert detail.options_enabled_at == {"on_recruit_delete": later}
    assert detail.next_due_at is not None and detail.next_due_at.isoformat() == "2026-11-23T09:30:00+05:30"
    assert detail.spec.mapping == [FieldMapping.model_validate(city[0])]
    async with scheduler.deps.pool.acquire() as conn:  # the settings history
        versions = await conn.fetch(
            "SELECT version, spec FROM sync_versions WHERE sync_id = $1::uuid ORDER BY version", sync_id
        )
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["spec"]["schedule"]["timezone"] == "Europe/London"
    assert versions[1]["spec"]["options"]["on_recruit_delete"] == "remove_from_list"
    # an edit that changes nothing is not a new version
    assert (await scheduler.call(rpc.SYNC_EDIT, edit(sync_id, mapping=city))).settings_version == 2
    assert await scheduler.refused(rpc.SYNC_EDIT, edit("ghost", mapping=city), 404) == (
        "no sync with id or name 'ghost'"
    )


async def test_rename_to_a_taken_name_is_refused(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    await scheduler.create_sync(name="one")
    two = await scheduler.create_sync(name="two")
    assert await scheduler.refused(rpc.SYNC_EDIT, edit(two, name="one"), 409) == (
        "name: a sync named 'one' already exists"
    )
    renamed = await scheduler.call(rpc.SYNC_EDIT, edit(two, name="three"))
    assert renamed.name == "three" and renamed.spec.name == "three"


async def test_pause_and_activate(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync(schedule={"kind": "daily", "at": "09:00", "timezone": "UTC"})
    paused = await scheduler.call(rpc.SYNC_PAUSE, SyncRef(id=sync_id))
    assert (paused.state, paused.next_due_at) == ("paused", None)
    scheduler.clock.advance(timedelta(days=2))  # Sunday 12:00 UTC
    active = await scheduler.call(rpc.SYNC_ACTIVATE, SyncRef(id=sync_id))
    assert (active.state, active.state_reason) == ("active", None)
    assert active.next_due_at == START + timedelta(days=2, hours=21)  # from now, not from creation
    assert_no_secrets(scheduler)


async def test_a_sync_whose_stored_spec_is_unreadable_is_refused_not_listed(scheduler: Scheduler) -> None:
    """As if a newer contract refused what an older one stored: the other syncs stay usable."""
    await scheduler.add_connection()
    broken = await scheduler.create_sync(name="broken")
    fine = await scheduler.create_sync(name="fine")
    async with scheduler.deps.pool.acquire() as conn:
        await conn.execute("UPDATE syncs SET spec = spec || '{\"legacy\": 1}' WHERE name = 'broken'")
    assert [d.id for d in await scheduler.call(rpc.SYNC_LIST, NOTHING)] == [fine]
    assert await scheduler.refused(rpc.SYNC_GET, SyncRef(id=broken), 409) == (
        "sync 'broken' has stored settings this version cannot read (legacy: unknown key)"
    )
    await scheduler.refused(rpc.SYNC_RUN, {"id": "broken"}, 409)
