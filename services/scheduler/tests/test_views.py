"""The detail view and the run snapshot, from a stored sync (pure)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from recruit_sync.contracts import rpc
from recruit_sync.contracts.sync_spec import SyncSpec
from recruit_sync.scheduler.store import StoredSync
from recruit_sync.scheduler.views import describe_sync, snapshot

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SYNC_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
CONNECTION_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")

SYNC = StoredSync(
    id=SYNC_ID,
    name="IT",
    state="active",
    state_reason=None,
    settings_version=2,
    created_at=NOW,
    next_due_at=NOW + timedelta(days=3),
    credit_wait_until=None,
    last_retrieval_at=NOW - timedelta(days=1),
    last_retrieval_kind="incremental",
    last_success_started_at=NOW - timedelta(days=1),
    last_full_credits=40,
    last_incremental_credits=4,
    options_enabled_at={"exclude_opt_out": NOW},
    run_in_flight=None,
    connection_id=CONNECTION_ID,
    connection_name="acme",
    base_url="https://recruit.zoho.com",
    accounts_url="https://accounts.zoho.com",
    client_id="cid",
    client_secret_enc="encrypted-secret",
    refresh_token_enc="encrypted-token",
    credentials_version=3,
    daily_credit_budget=100,
    spec=SyncSpec.model_validate(
        {
            "name": "IT",
            "connection": "acme",
            "list": "IT talent",
            "options": {"exclude_opt_out": True},
            "schedule": {"kind": "weekly", "weekday": "monday", "at": "09:30", "timezone": "Asia/Kolkata"},
            "mapping": [{"from": "Skill_Set", "to": "skills"}],
        }
    ),
)


def as_json(sync: StoredSync) -> Any:
    """What ``sync.get`` answers, as the API receives it."""
    return rpc.SYNC_GET.answers.dump_python(describe_sync(sync), mode="json", by_alias=True)


def test_the_detail_view_shows_times_in_the_syncs_zone_and_the_spec_as_in_the_file() -> None:
    shown = as_json(SYNC)
    assert (shown["id"], shown["name"], shown["connection"]) == (str(SYNC_ID), "IT", "acme")
    assert shown["next_due_at"] == "2026-11-23T17:30:00+05:30"
    assert shown["created_at"] == "2026-11-20T17:30:00+05:30"
    assert shown["last_retrieval_at"] == "2026-11-19T17:30:00+05:30"
    assert (shown["last_retrieval_kind"], shown["settings_version"]) == ("incremental", 2)
    assert shown["options_enabled_at"] == {"exclude_opt_out": "2026-11-20T12:00:00+00:00"}
    assert shown["spec"]["mapping"] == [{"from": "Skill_Set", "to": "skills"}]
    assert shown["spec"]["schedule"]["timezone"] == shown["timezone"] == "Asia/Kolkata"
    assert [m["to"] for m in shown["mapping"]] == ["email", "first_name", "last_name", "skills"]
    assert not any("secret" in key or "token" in key for key in shown)


def test_a_wait_for_credits_is_the_state_reason_of_an_active_sync() -> None:
    waiting = replace(SYNC, credit_wait_until=NOW + timedelta(hours=2))
    assert as_json(waiting)["state_reason"] == "waiting for credit budget until 2026-11-20T19:30:00+05:30"
    paused = replace(waiting, state="paused", state_reason=None)
    assert as_json(paused)["state_reason"] is None


def test_the_snapshot_carries_the_connection_with_its_secrets_encrypted() -> None:
    taken = snapshot(SYNC)
    assert (taken.sync_id, taken.settings_version, taken.spec) == (str(SYNC_ID), 2, SYNC.spec)
    assert taken.options_enabled_at == {"exclude_opt_out": NOW}
    connection = taken.connection
    assert (connection.connection_id, connection.name, connection.client_id) == (
        str(CONNECTION_ID),
        "acme",
        "cid",
    )
    assert (connection.client_secret_enc, connection.refresh_token_enc) == (
        "encrypted-secret",
        "encrypted-token",
    )
    assert (connection.credentials_version, connection.daily_credit_budget) == (3, 100)
