"""What the scheduler shows of a stored sync (the detail view) and what its runs carry of it (pure)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from recruit_sync.contracts.events import ConnectionSnapshot
from recruit_sync.contracts.resources import SyncDetail
from recruit_sync.scheduler.due import SyncSnapshot
from recruit_sync.scheduler.store import StoredSync


def describe_sync(sync: StoredSync) -> SyncDetail:
    """The detail view (INTERFACE ``sync show --json``): times in the sync's own time zone, with its
    offset, so a user reads them as the schedule states them; a wait for credits is the state reason."""
    zone = ZoneInfo(sync.spec.schedule.timezone)

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(zone) if value is not None else None

    reason = sync.state_reason
    if sync.state == "active" and sync.credit_wait_until is not None:
        reason = f"waiting for credit budget until {sync.credit_wait_until.astimezone(zone).isoformat()}"
    return SyncDetail(
        id=str(sync.id),
        name=sync.name,
        state=sync.state,
        state_reason=reason,
        next_due_at=local(sync.next_due_at),
        last_retrieval_at=local(sync.last_retrieval_at),
        last_retrieval_kind=sync.last_retrieval_kind,
        settings_version=sync.settings_version,
        created_at=sync.created_at.astimezone(zone),
        connection=sync.connection_name,
        spec=sync.spec,
        mapping=sync.spec.full_mapping(),
        timezone=sync.spec.schedule.timezone,
        options_enabled_at=sync.options_enabled_at,
        run_in_flight=sync.run_in_flight,
    )


def snapshot(sync: StoredSync) -> SyncSnapshot:
    """What a run of ``sync`` carries downstream: its settings and its connection (secrets encrypted)."""
    return SyncSnapshot(
        sync_id=str(sync.id),
        spec=sync.spec,
        settings_version=sync.settings_version,
        options_enabled_at=sync.options_enabled_at,
        connection=ConnectionSnapshot(
            connection_id=str(sync.connection_id),
            name=sync.connection_name,
            base_url=sync.base_url,
            accounts_url=sync.accounts_url,
            client_id=sync.client_id,
            client_secret_enc=sync.client_secret_enc,
            refresh_token_enc=sync.refresh_token_enc,
            credentials_version=sync.credentials_version,
            daily_credit_budget=sync.daily_credit_budget,
        ),
    )


def connection_snapshot(connection: asyncpg.Record) -> ConnectionSnapshot:
    """What a run carries of a connection, from its row (``store.connection_by_name``): for a sync
    that is not stored yet (a preview of a spec), which ``snapshot`` cannot start from."""
    return ConnectionSnapshot(
        connection_id=str(connection["id"]),
        name=connection["name"],
        base_url=connection["base_url"],
        accounts_url=connection["accounts_url"],
        client_id=connection["client_id"],
        client_secret_enc=connection["client_secret_enc"],
        refresh_token_enc=connection["refresh_token_enc"],
        credentials_version=connection["credentials_version"],
        daily_credit_budget=connection["daily_credit_budget"],
    )
