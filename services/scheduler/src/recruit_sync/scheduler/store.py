"""All of the scheduler's SQL (asyncpg; the pool's search_path is the ``scheduler`` schema).

A sync is read as a typed ``StoredSync``, its spec parsed once, here; a spec stored under an older
contract that this one refuses reads as an ``UnreadableSync`` naming the problem, so one such sync never
breaks a listing or the tick (which pauses it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import ValidationError

from recruit_sync.contracts.events import Trigger
from recruit_sync.contracts.resources import SyncState, WindowKind
from recruit_sync.contracts.sync_spec import FieldMapping, SyncSpec, describe_validation_error
from recruit_sync.scheduler.budget import Spend
from recruit_sync.scheduler.specs import dump_spec

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

DeactivationReason = Literal["auth_failed", "credentials_changed"]


@dataclass(frozen=True)
class SyncRow:
    """A sync as every read gives it: its columns, its connection's, and its run in flight."""

    id: uuid.UUID
    name: str
    state: SyncState
    state_reason: str | None
    settings_version: int
    created_at: datetime
    next_due_at: datetime | None
    credit_wait_until: datetime | None  # set while its due run waits for the credit budget
    last_retrieval_at: datetime | None
    last_retrieval_kind: WindowKind | None
    last_success_started_at: datetime | None  # the watermark incremental runs read from
    last_full_credits: int | None  # what its last successful run of each kind cost
    last_incremental_credits: int | None
    options_enabled_at: dict[str, datetime]
    run_in_flight: str | None
    connection_id: uuid.UUID
    connection_name: str
    base_url: str
    accounts_url: str
    client_id: str
    client_secret_enc: str
    refresh_token_enc: str
    credentials_version: int
    daily_credit_budget: int | None


@dataclass(frozen=True)
class StoredSync(SyncRow):
    spec: SyncSpec


@dataclass(frozen=True)
class UnreadableSync(SyncRow):
    """A sync whose stored spec this version refuses; ``problem`` names the key, as a refused spec does."""

    problem: str


# One sync with its connection and its run in flight: the columns of SyncRow, plus the spec.
_SYNC_SELECT = """
    SELECT s.id, s.name, s.state, s.state_reason, s.settings_version, s.created_at, s.next_due_at,
           s.credit_wait_until, s.last_retrieval_at, s.last_retrieval_kind, s.last_success_started_at,
           s.last_full_credits, s.last_incremental_credits, s.options_enabled_at, s.spec,
           s.connection_id, c.name AS connection_name, c.base_url, c.accounts_url, c.client_id,
           c.client_secret_enc, c.refresh_token_enc, c.credentials_version, c.daily_credit_budget,
           f.run_id AS run_in_flight
    FROM syncs s
    JOIN connections c ON c.id = s.connection_id
    LEFT JOIN runs_in_flight f ON f.sync_id = s.id
"""


def _read_sync(row: asyncpg.Record) -> StoredSync | UnreadableSync:
    columns = dict(row)
    data = columns.pop("spec")
    columns["options_enabled_at"] = {
        option: datetime.fromisoformat(at) for option, at in columns["options_enabled_at"].items()
    }
    try:
        spec = SyncSpec.model_validate(data)
    except ValidationError as exc:
        return UnreadableSync(**columns, problem=describe_validation_error(exc))
    return StoredSync(**columns, spec=spec)


def _iso_map(values: dict[str, datetime]) -> dict[str, str]:
    return {key: value.isoformat() for key, value in values.items()}


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# connections ------------------------------------------------------------------------------------------


async def insert_connection(conn: Conn, fields: dict[str, Any]) -> uuid.UUID:
    """Raises asyncpg.UniqueViolationError when the name is taken."""
    columns = list(fields)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    sql = f"INSERT INTO connections ({', '.join(columns)}) VALUES ({placeholders}) RETURNING id"
    result: uuid.UUID = await conn.fetchval(sql, *fields.values())
    return result


async def connection_by_name(conn: Conn, name: str, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM connections WHERE name = $1{lock}", name)


async def list_connections(conn: Conn, spent_since: datetime) -> list[asyncpg.Record]:
    """Connections without their secrets (the encrypted columns are never selected), with the credits
    their runs spent since ``spent_since``."""
    return await conn.fetch(
        "SELECT c.id, c.name, c.base_url, c.accounts_url, c.client_id, c.primary_email, "
        "c.daily_credit_budget, c.credentials_version, c.created_at, "
        "(SELECT coalesce(sum(credits), 0) FROM credit_spend p "
        " WHERE p.connection_id = c.id AND p.spent_at > $1)::int AS credits_spent "
        "FROM connections c ORDER BY c.name",
        spent_since,
    )


async def update_credentials(conn: Conn, connection_id: uuid.UUID, fields: dict[str, Any]) -> None:
    """Store new credentials and bump ``credentials_version``."""
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(fields, start=2))
    await conn.execute(
        f"UPDATE connections SET {sets}, credentials_version = credentials_version + 1 WHERE id = $1",
        connection_id,
        *fields.values(),
    )


async def deactivate_syncs(
    conn: Conn, connection_id: uuid.UUID, reason: DeactivationReason
) -> list[uuid.UUID]:
    """Every sync of the connection becomes inactive; returns those that changed."""
    rows = await conn.fetch(
        "UPDATE syncs SET state = 'inactive', state_reason = $2, next_due_at = NULL, "
        "credit_wait_until = NULL "
        "WHERE connection_id = $1 AND (state <> 'inactive' OR state_reason IS DISTINCT FROM $2) "
        "RETURNING id",
        connection_id,
        reason,
    )
    return [row["id"] for row in rows]


# syncs ------------------------------------------------------------------------------------------------


async def insert_sync(
    conn: Conn,
    *,
    spec: SyncSpec,
    connection_id: uuid.UUID,
    created_at: datetime,
    next_due_at: datetime | None,
    options_enabled_at: dict[str, datetime],
    alert_secrets: dict[str, str] | None = None,
) -> uuid.UUID:
    """Insert an active sync and its settings version 1; raises UniqueViolationError on a taken name.

    ``alert_secrets``: its webhooks' signing secrets by URL, encrypted (scheduler.notify)."""
    data = dump_spec(spec)
    sync_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO syncs (name, connection_id, spec, state, created_at, next_due_at, options_enabled_at, "
        "alert_secrets) VALUES ($1, $2, $3, 'active', $4, $5, $6, $7) RETURNING id",
        spec.name,
        connection_id,
        data,
        created_at,
        next_due_at,
        _iso_map(options_enabled_at),
        alert_secrets or {},
    )
    await _insert_version(conn, sync_id, 1, data, created_at)
    return sync_id


async def _insert_version(
    conn: Conn, sync_id: uuid.UUID, version: int, spec: dict[str, Any], at: datetime
) -> None:
    """The settings history (``sync_versions``): every version of every sync, as it was saved."""
    await conn.execute(
        "INSERT INTO sync_versions (sync_id, version, spec, changed_at) VALUES ($1, $2, $3, $4)",
        sync_id,
        version,
        spec,
        at,
    )


async def get_sync(conn: Conn, key: str, *, for_update: bool = False) -> StoredSync | UnreadableSync | None:
    """A sync by id or, failing that, by name; ``for_update`` locks its row first.

    The lock is taken by its own statement so that the read after it sees whatever the previous
    holder committed (a locking join would return the joined rows as they were before the wait).
    """
    match = "(s.id = $1 OR s.name = $2) ORDER BY (s.id = $1) DESC NULLS LAST LIMIT 1"
    if for_update:
        sync_id = await conn.fetchval(
            f"SELECT s.id FROM syncs s WHERE {match} FOR UPDATE", _as_uuid(key), key
        )
        if sync_id is None:
            return None
        row = await conn.fetchrow(f"{_SYNC_SELECT} WHERE s.id = $1", sync_id)
    else:
        row = await conn.fetchrow(f"{_SYNC_SELECT} WHERE {match}", _as_uuid(key), key)
    return None if row is None else _read_sync(row)


async def list_syncs(conn: Conn) -> list[StoredSync | UnreadableSync]:
    return [_read_sync(row) for row in await conn.fetch(f"{_SYNC_SELECT} ORDER BY s.name")]


async def update_settings(
    conn: Conn,
    sync_id: uuid.UUID,
    *,
    spec: SyncSpec,
    version: int,
    next_due_at: datetime | None,
    options_enabled_at: dict[str, datetime],
    reset_watermark: bool,
    at: datetime,
    alert_secrets: dict[str, str] | None = None,
) -> None:
    """New settings (version ``version``); raises UniqueViolationError when a rename takes a used name.

    A new due time ends a wait for credits: the next tick checks the budget afresh.
    """
    data = dump_spec(spec)
    await conn.execute(
        "UPDATE syncs SET name = $2, spec = $3, settings_version = $4, "
        "credit_wait_until = CASE WHEN next_due_at IS DISTINCT FROM $5 THEN NULL ELSE credit_wait_until END, "
        "next_due_at = $5, options_enabled_at = $6, "
        "last_success_started_at = CASE WHEN $7 THEN NULL ELSE last_success_started_at END, "
        "alert_secrets = coalesce($8, alert_secrets) "
        "WHERE id = $1",
        sync_id,
        spec.name,
        data,
        version,
        next_due_at,
        _iso_map(options_enabled_at),
        reset_watermark,
        alert_secrets,
    )
    await _insert_version(conn, sync_id, version, data, at)


async def set_state(
    conn: Conn, sync_id: uuid.UUID, state: SyncState, reason: str | None, next_due_at: datetime | None
) -> None:
    await conn.execute(
        "UPDATE syncs SET state = $2, state_reason = $3, next_due_at = $4, credit_wait_until = NULL "
        "WHERE id = $1",
        sync_id,
        state,
        reason,
        next_due_at,
    )


async def set_next_due(conn: Conn, sync_id: uuid.UUID, next_due_at: datetime | None) -> None:
    """After a scheduled run started: the next occurrence, and no wait for credits any more."""
    await conn.execute(
        "UPDATE syncs SET next_due_at = $2, credit_wait_until = NULL WHERE id = $1", sync_id, next_due_at
    )


async def defer_for_credits(conn: Conn, sync_id: uuid.UUID, until: datetime) -> None:
    """The due run waits until ``until``, when the connection's budget will have room for it."""
    await conn.execute(
        "UPDATE syncs SET next_due_at = $2, credit_wait_until = $2 WHERE id = $1", sync_id, until
    )


async def wake_credit_waiters(conn: Conn, connection_id: uuid.UUID, now: datetime) -> int:
    """Syncs of the connection waiting for credits become due now, to be checked against what was
    really spent (a run in flight counted with its estimate until it finished).

    Rows another transaction holds are skipped: they keep their wait, which is merely cautious.
    """
    result: str = await conn.execute(
        "UPDATE syncs SET next_due_at = $2 WHERE id IN ("
        " SELECT id FROM syncs WHERE connection_id = $1 AND state = 'active' "
        " AND credit_wait_until IS NOT NULL AND next_due_at > $2 FOR UPDATE SKIP LOCKED)",
        connection_id,
        now,
    )
    return int(result.split()[-1])


async def record_success(conn: Conn, sync_id: uuid.UUID, started_at: datetime, kind: WindowKind) -> None:
    """Move the watermark forward (never back: an older run's late report leaves it alone)."""
    await conn.execute(
        "UPDATE syncs SET last_success_started_at = $2, last_retrieval_at = $2, last_retrieval_kind = $3 "
        "WHERE id = $1 AND (last_success_started_at IS NULL OR last_success_started_at <= $2)",
        sync_id,
        started_at,
        kind,
    )


async def record_run_cost(conn: Conn, sync_id: uuid.UUID, kind: WindowKind, credits: int) -> None:
    """What the sync's last successful run of this window kind cost: the estimate of the next one."""
    column = {"full": "last_full_credits", "incremental": "last_incremental_credits"}[kind]
    await conn.execute(f"UPDATE syncs SET {column} = $2 WHERE id = $1", sync_id, credits)


async def claim_due_syncs(conn: Conn, now: datetime, limit: int) -> list[StoredSync | UnreadableSync]:
    """Lock the active syncs due by ``now`` with no run in flight; replicas skip each other's rows."""
    rows = await conn.fetch(
        f"{_SYNC_SELECT} WHERE s.state = 'active' AND s.next_due_at <= $1 AND f.sync_id IS NULL "
        "ORDER BY s.next_due_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED",
        now,
        limit,
    )
    return [_read_sync(row) for row in rows]


# runs in flight -----------------------------------------------------------------------------------------


async def insert_run_in_flight(
    conn: Conn,
    *,
    sync_id: uuid.UUID,
    run_id: str,
    trigger: Trigger,
    window_kind: WindowKind,
    credentials_version: int,
    started_at: datetime,
    estimated_credits: int,
) -> bool:
    """False when a run of this sync is already in flight."""
    inserted = await conn.fetchval(
        "INSERT INTO runs_in_flight "
        "(sync_id, run_id, trigger, window_kind, credentials_version, started_at, estimated_credits) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING true",
        sync_id,
        run_id,
        trigger.value,
        window_kind,
        credentials_version,
        started_at,
        estimated_credits,
    )
    return bool(inserted)


@dataclass(frozen=True)
class FinishedRun:
    """What the scheduler recorded when it started a run, read back when the run reports."""

    window_kind: WindowKind
    credentials_version: int  # an auth failure with credentials replaced since is stale


async def finish_run_in_flight(conn: Conn, sync_id: uuid.UUID, run_id: str) -> FinishedRun | None:
    """Clear the sync's run in flight if it is ``run_id``; None when that was not the run in flight."""
    row = await conn.fetchrow(
        "DELETE FROM runs_in_flight WHERE sync_id = $1 AND run_id = $2 "
        "RETURNING window_kind, credentials_version",
        sync_id,
        run_id,
    )
    return None if row is None else FinishedRun(row["window_kind"], row["credentials_version"])


# credit budgets ---------------------------------------------------------------------------------------


async def lock_budget(conn: Conn, connection_id: uuid.UUID) -> None:
    """Serialise budget checks of one connection until the transaction ends, so two replicas never
    both spend its last credits. An advisory lock, not the connection's row: ``rekey`` holds that
    row while it updates syncs that a tick may hold, and the two would deadlock."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 11))", connection_id)


async def credit_spends(conn: Conn, connection_id: uuid.UUID, since: datetime) -> list[Spend]:
    """What the connection's runs that finished since ``since`` spent, and when."""
    rows = await conn.fetch(
        "SELECT spent_at, credits FROM credit_spend WHERE connection_id = $1 AND spent_at > $2",
        connection_id,
        since,
    )
    return [Spend(row["spent_at"], row["credits"]) for row in rows]


async def reserved_credits(conn: Conn, connection_id: uuid.UUID) -> int:
    """What the connection's runs in flight are expected to spend."""
    reserved: int = await conn.fetchval(
        "SELECT coalesce(sum(f.estimated_credits), 0)::int FROM runs_in_flight f "
        "JOIN syncs s ON s.id = f.sync_id WHERE s.connection_id = $1",
        connection_id,
    )
    return reserved


async def record_spend(
    conn: Conn, *, run_id: str, connection_id: uuid.UUID, credits: int, at: datetime, forget_before: datetime
) -> None:
    """A finished run's credits (once per run), and spends too old to matter forgotten."""
    await conn.execute(
        "INSERT INTO credit_spend (run_id, connection_id, credits, spent_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (run_id) DO NOTHING",
        run_id,
        connection_id,
        credits,
        at,
    )
    await conn.execute(
        "DELETE FROM credit_spend WHERE connection_id = $1 AND spent_at < $2", connection_id, forget_before
    )


# favourites -------------------------------------------------------------------------------------------


async def save_favourite(conn: Conn, name: str, mapping: list[FieldMapping]) -> None:
    """Save or replace the named mapping, its entries keyed ``from``/``to`` as in a spec file."""
    await conn.execute(
        "INSERT INTO favourites (name, mapping) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET mapping = EXCLUDED.mapping, saved_at = now()",
        name,
        [entry.model_dump(by_alias=True) for entry in mapping],
    )


async def favourites(conn: Conn) -> dict[str, list[dict[str, str]]]:
    rows = await conn.fetch("SELECT name, mapping FROM favourites ORDER BY name")
    return {row["name"]: row["mapping"] for row in rows}


# alerts (scheduler.alerts, scheduler.notify) ------------------------------------------------------------


async def alert_secrets(conn: Conn, sync_id: uuid.UUID) -> dict[str, str]:
    """The sync's webhook signing secrets by URL, encrypted (never selected with the sync itself)."""
    secrets: dict[str, str] = await conn.fetchval("SELECT alert_secrets FROM syncs WHERE id = $1", sync_id)
    return secrets


async def last_success_total(conn: Conn, sync_id: uuid.UUID) -> int | None:
    total: int | None = await conn.fetchval("SELECT last_success_total FROM syncs WHERE id = $1", sync_id)
    return total


async def set_last_success_total(conn: Conn, sync_id: uuid.UUID, total: int) -> None:
    await conn.execute("UPDATE syncs SET last_success_total = $2 WHERE id = $1", sync_id, total)


async def alert_state(conn: Conn, sync_id: uuid.UUID) -> list[asyncpg.Record]:
    """The conditions raised for the sync's alerts: rows of (target, event)."""
    return await conn.fetch("SELECT target, event FROM alert_state WHERE sync_id = $1", sync_id)


async def set_alert_state(conn: Conn, sync_id: uuid.UUID, raised: list[tuple[str, str]]) -> None:
    await conn.execute("DELETE FROM alert_state WHERE sync_id = $1", sync_id)
    await conn.executemany(
        "INSERT INTO alert_state (sync_id, target, event) VALUES ($1, $2, $3)",
        [(sync_id, target, event) for target, event in raised],
    )


async def insert_notification(
    conn: Conn,
    *,
    sync_id: uuid.UUID,
    run_id: str | None,
    event: str,
    channel: str,
    target: str,
    secret_enc: str | None,
    payload: dict[str, Any],
    at: datetime,
) -> int:
    notification_id: int = await conn.fetchval(
        "INSERT INTO notifications (sync_id, run_id, event, channel, target, secret_enc, payload, "
        "created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        sync_id,
        run_id,
        event,
        channel,
        target,
        secret_enc,
        payload,
        at,
    )
    return notification_id


async def lease_notifications(conn: Conn, now: datetime, until: datetime, limit: int) -> list[asyncpg.Record]:
    """The notifications due at ``now``, oldest first, each not due again before ``until`` (so a sender
    that dies mid-delivery leaves them to be retried then; replicas skip each other's)."""
    return await conn.fetch(
        "UPDATE notifications SET next_attempt_at = $2 WHERE id IN ("
        " SELECT id FROM notifications WHERE delivered_at IS NULL AND gave_up_at IS NULL "
        " AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
        "RETURNING id, channel, target, secret_enc, payload, attempts",
        now,
        until,
        limit,
    )


async def record_attempt(
    conn: Conn,
    notification_id: int,
    *,
    attempts: int,
    error: str | None,
    delivered_at: datetime | None,
    next_attempt_at: datetime,
    gave_up_at: datetime | None,
) -> None:
    """One delivery attempt; a success keeps the error of the attempt before it, for the record."""
    await conn.execute(
        "UPDATE notifications SET attempts = $2, last_error = coalesce($3, last_error), delivered_at = $4, "
        "next_attempt_at = $5, gave_up_at = $6 WHERE id = $1",
        notification_id,
        attempts,
        error,
        delivered_at,
        next_attempt_at,
        gave_up_at,
    )


async def notifications_of(conn: Conn, sync_id: uuid.UUID, limit: int) -> list[asyncpg.Record]:
    """The sync's latest notifications, newest first (without their secrets)."""
    return await conn.fetch(
        "SELECT id, run_id, event, channel, target, payload, created_at, attempts, next_attempt_at, "
        "last_error, delivered_at, gave_up_at FROM notifications WHERE sync_id = $1 "
        "ORDER BY id DESC LIMIT $2",
        sync_id,
        limit,
    )
