"""Connections, syncs and favourites through the RPC operations, on a real database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from recruit_sync.scheduler import store

from .conftest import CLIENT_SECRET, REFRESH_TOKEN, START, Scheduler

pytestmark = pytest.mark.integration

WEEKLY_KOLKATA = {"kind": "weekly", "weekday": "monday", "at": "09:30", "timezone": "Asia/Kolkata"}


@pytest.fixture
def scheduler(db_scheduler: Scheduler) -> Scheduler:
    """These tests need no broker: whatever they cause stays in the outbox."""
    return db_scheduler


def assert_no_secrets(scheduler: Scheduler) -> None:
    for reply in scheduler.replies:
        assert CLIENT_SECRET.encode() not in reply and REFRESH_TOKEN.encode() not in reply


async def test_connections_are_listed_without_secrets(scheduler: Scheduler) -> None:
    connection_id = await scheduler.add_connection()
    listed = await scheduler.ok("connection.list")
    assert [(c["id"], c["name"], c["credentials_version"]) for c in listed] == [(connection_id, "acme", 1)]
    assert not any("secret" in key or "token" in key for key in listed[0])
    async with scheduler.deps.pool.acquire() as conn:
        stored = await store.connection_by_name(conn, "acme")
    assert stored is not None and CLIENT_SECRET not in stored["client_secret_enc"]  # encrypted at rest
    assert_no_secrets(scheduler)


async def test_connection_add_refuses_duplicates_and_bad_urls(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    assert "already exists" in await scheduler.fails(
        "connection.add",
        {
            "name": "acme",
            "base_url": "https://recruit.zoho.eu",
            "accounts_url": "https://accounts.zoho.eu",
            "client_id": "c",
            "client_secret": CLIENT_SECRET,
            "refresh_token": "r",
        },
        409,
    )
    error = await scheduler.fails(
        "connection.add",
        {
            "name": "other",
            "base_url": "recruit.zoho.eu",
            "accounts_url": "https://accounts.zoho.eu",
            "client_id": "c",
            "client_secret": CLIENT_SECRET,
            "refresh_token": "r",
        },
        400,
    )
    assert error.startswith("base_url:") and CLIENT_SECRET not in error


async def test_create_get_and_list_a_sync(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync(
        schedule=WEEKLY_KOLKATA,
        mapping=[{"from": "Skill_Set", "to": "skills"}],
        options={"exclude_opt_out": True},
    )
    detail = await scheduler.ok("sync.get", {"id": sync_id})
    assert detail["id"] == sync_id and detail["name"] == "IT graduates" and detail["connection"] == "acme"
    assert (detail["state"], detail["state_reason"], detail["settings_version"]) == ("active", None, 1)
    # START is Friday 2026-11-20 12:00 UTC: the first Monday 09:30 IST is the 23rd, with its offset
    assert detail["next_due_at"] == "2026-11-23T09:30:00+05:30"
    assert detail["timezone"] == "Asia/Kolkata"
    assert detail["last_retrieval_at"] is None and detail["last_retrieval_kind"] is None
    assert detail["spec"]["schedule"] == {**WEEKLY_KOLKATA, "day": None}
    assert detail["spec"]["retrieval"] == {"kind": "all", "after": None}
    assert detail["spec"]["mapping"] == [{"from": "Skill_Set", "to": "skills"}]
    assert [m["to"] for m in detail["mapping"]] == ["email", "first_name", "last_name", "skills"]
    assert detail["options_enabled_at"] == {"exclude_opt_out": START.isoformat()}
    assert await scheduler.ok("sync.get", {"id": "IT graduates"}) == detail  # by name too
    assert await scheduler.ok("sync.list") == [detail]
    assert "no sync" in await scheduler.fails("sync.get", {"id": "nope"}, 404)


async def test_create_refuses_what_it_cannot_run(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    base = {"name": "s", "connection": "acme", "list": "l"}
    bad_key = await scheduler.fails("sync.create", {"spec": {**base, "schedule": {"kind": "daily"}}}, 400)
    assert bad_key.startswith("schedule:") and "needs 'at'" in bad_key
    missing = await scheduler.fails("sync.create", {"spec": {**base, "connection": "ghost"}}, 400)
    assert missing == "connection: no connection named 'ghost'"
    old = (START - timedelta(days=31)).isoformat()
    too_old = await scheduler.fails(
        "sync.create", {"spec": {**base, "retrieval": {"kind": "after", "after": old}}}, 400
    )
    assert (
        too_old.startswith("retrieval.after:") and "more than 30 days before the sync's creation" in too_old
    )
    unknown = await scheduler.fails("sync.create", {"spec": {**base, "favourite": "nope"}}, 400)
    assert "favourite" in unknown and "'nope'" in unknown
    await scheduler.create_sync(name="s")
    assert "already exists" in await scheduler.fails("sync.create", {"spec": base}, 409)
    assert len(await scheduler.ok("sync.list")) == 1


async def test_favourites_are_saved_listed_and_loaded(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    mapping = [{"from": "Current_Employer", "to": "company"}, {"from": "Skill_Set", "to": "skills"}]
    assert await scheduler.ok("mapping.favourite.save", {"name": "recruiting", "mapping": mapping}) == {
        "name": "recruiting"
    }
    assert await scheduler.ok("mapping.favourite.list") == [{"name": "recruiting", "mapping": mapping}]
    bad = await scheduler.fails(
        "mapping.favourite.save", {"name": "x", "mapping": [{"from": "A", "to": "email"}]}, 400
    )
    assert bad.startswith("mapping.0") and "email" in bad
    sync_id = await scheduler.create_sync(favourite="recruiting")
    detail = await scheduler.ok("sync.get", {"id": sync_id})
    assert detail["spec"]["mapping"] == mapping and detail["spec"]["favourite"] == "recruiting"
    # the sync keeps its copy when the favourite changes later
    await scheduler.ok("mapping.favourite.save", {"name": "recruiting", "mapping": mapping[:1]})
    assert (await scheduler.ok("sync.get", {"id": sync_id}))["spec"]["mapping"] == mapping


async def test_edit_versions_settings_and_times_options(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync(
        schedule={"kind": "daily", "at": "09:00", "timezone": "Europe/London"}
    )
    later = scheduler.clock.advance(timedelta(hours=1))
    patch = {
        "options": {"on_recruit_delete": "remove_from_list"},
        "schedule": WEEKLY_KOLKATA,
        "mapping": [{"from": "City", "to": "city"}],
    }
    detail = await scheduler.ok("sync.edit", {"id": sync_id, "patch": patch})
    assert detail["settings_version"] == 2
    assert detail["options_enabled_at"] == {"on_recruit_delete": later.isoformat()}
    assert detail["next_due_at"] == "2026-11-23T09:30:00+05:30"
    assert detail["spec"]["mapping"] == [{"from": "City", "to": "city"}]
    async with scheduler.deps.pool.acquire() as conn:
        versions = await store.versions(conn, uuid.UUID(sync_id))
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["spec"]["schedule"]["timezone"] == "Europe/London"
    assert versions[1]["spec"]["options"]["on_recruit_delete"] == "remove_from_list"
    # an edit that changes nothing is not a new version
    same = await scheduler.ok(
        "sync.edit", {"id": sync_id, "patch": {"mapping": [{"from": "City", "to": "city"}]}}
    )
    assert same["settings_version"] == 2
    bad = await scheduler.fails("sync.edit", {"id": sync_id, "patch": {"module": "Contacts"}}, 400)
    assert bad == "module: unknown key"


async def test_rename_to_a_taken_name_is_refused(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    await scheduler.create_sync(name="one")
    two = await scheduler.create_sync(name="two")
    assert "already exists" in await scheduler.fails("sync.edit", {"id": two, "patch": {"name": "one"}}, 409)
    renamed = await scheduler.ok("sync.edit", {"id": two, "patch": {"name": "three"}})
    assert renamed["name"] == "three" and renamed["spec"]["name"] == "three"


async def test_pause_and_activate(scheduler: Scheduler) -> None:
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync(schedule={"kind": "daily", "at": "09:00", "timezone": "UTC"})
    paused = await scheduler.ok("sync.pause", {"id": sync_id})
    assert (paused["state"], paused["next_due_at"]) == ("paused", None)
    scheduler.clock.advance(timedelta(days=2))  # Sunday 12:00 UTC
    active = await scheduler.ok("sync.activate", {"id": sync_id})
    assert (active["state"], active["state_reason"]) == ("active", None)
    assert active["next_due_at"] == "2026-11-23T09:00:00+00:00"  # recomputed from now, not from creation
    assert_no_secrets(scheduler)
