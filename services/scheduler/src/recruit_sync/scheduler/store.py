"""All of the scheduler's SQL (asyncpg; the pool's search_path is the ``scheduler`` schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

# One sync with what a snapshot and the detail view need: its connection, and the run in flight.
_SYNC_SELECT = """
    SELECT s.*, c.name AS connection_name, c.base_url, c.accounts_url, c.client_id,
           c.client_secret_enc, c.refresh_token_enc, c.credentials_version, c.daily_credit_budget,
           f.run_id AS run_in_flight
    FROM syncs s
    JOIN connections c ON c.id = s.connection_id
    LEFT JOIN runs_in_flight f ON f.sync_id = s.id
"""


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


async def deactivate_syncs(conn: Conn, connection_id: uuid.UUID, reason: str) -> list[uuid.UUID]:
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
    name: str,
    connection_id: uuid.UUID,
    spec: dict[str, Any],
    created_at: datetime,
    next_due_at: datetime | None,
    options_enabled_at: dict[str, str],
) -> uuid.UUID:
    """Insert an active sync and its settings version 1; raises UniqueViolationError on a taken name."""
    sync_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO syncs (name, connection_id, spec, state, created_at, next_due_at, options_enabled_at) "
        "VALUES ($1, $2, $3, 'active', $4, $5, $6) RETURNING id",
        name,
        connection_id,
        spec,
        created_at,
        next_due_at,
        options_enabled_at,
    )
    await insert_version(conn, sync_id, 1, spec, created_at)
    return sync_id


async def insert_version(
    conn: Conn, sync_id: uuid.UUID, version: int, spec: dict[str, Any], at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO sync_versions (sync_id, version, spec, changed_at) VALUES ($1, $2, $3, $4)",
        sync_id,
        version,
        spec,
        at,
    )


async def get_sync(conn: Conn, key: str, *, for_update: bool = False) -> asyncpg.Record | None:
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
        return await conn.fetchrow(f"{_SYNC_SELECT} WHERE s.id = $1", sync_id)
    return await conn.fetchrow(f"{_SYNC_SELECT} WHERE {match}", _as_uuid(key), key)


async def list_syncs(conn: Conn) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_SYNC_SELECT} ORDER BY s.name")


async def versions(conn: Conn, sync_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT version, spec, changed_at FROM sync_versions WHERE sync_id = $1 ORDER BY version", sync_id
    )


async def update_settings(
    conn: Conn,
    sync_id: uuid.UUID,
    *,
    name: str,
    spec: dict[str, Any],
    version: int,
    next_due_at: datetime | None,
    options_enabled_at: dict[str, str],
    reset_watermark: bool,
    at: datetime,
) -> None:
    """New settings (version ``version``); raises UniqueViolationError when a rename takes a used name.

    A new due time ends a wait for credits: the next tick checks the budget afresh.
    """
    await conn.execute(
        "UPDATE syncs SET name = $2, spec = $3, settings_version = $4, "
        "credit_wait_until = CASE WHEN next_due_at IS DISTINCT FROM $5 THEN NULL ELSE credit_wait_until END, "
        "next_due_at = $5, options_enabled_at = $6, "
        "last_success_started_at = CASE WHEN $7 THEN NULL ELSE last_success_started_at END "
        "WHERE id = $1",
        sync_id,
        name,
        spec,
        version,
        next_due_at,
        options_enabled_at,
        reset_watermark,
    )
    await insert_version(conn, sync_id, version, spec, at)


async def set_state(
    conn: Conn, sync_id: uuid.UUID, state: str, reason: str | None, next_due_at: datetime | None
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


async def record_success(conn: Conn, sync_id: uuid.UUID, started_at: datetime, kind: str) -> None:
    """Move the watermark forward (never back: an older run's late report leaves it alone)."""
    await conn.execute(
        "UPDATE syncs SET last_success_started_at = $2, last_retrieval_at = $2, last_retrieval_kind = $3 "
        "WHERE id = $1 AND (last_success_started_at IS NULL OR last_success_started_at <= $2)",
        sync_id,
        started_at,
        kind,
    )


async def record_run_cost(conn: Conn, sync_id: uuid.UUID, kind: str, credits: int) -> None:
    """What the sync's last successful run of this window kind cost: the estimate of the next one."""
    column = {"full": "last_full_credits", "incremental": "last_incremental_credits"}[kind]
    await conn.execute(f"UPDATE syncs SET {column} = $2 WHERE id = $1", sync_id, credits)


async def claim_due_syncs(conn: Conn, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Lock the active syncs due by ``now`` with no run in flight; replicas skip each other's rows."""
    return await conn.fetch(
        f"{_SYNC_SELECT} WHERE s.state = 'active' AND s.next_due_at <= $1 AND f.sync_id IS NULL "
        "ORDER BY s.next_due_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED",
        now,
        limit,
    )


# runs in flight -----------------------------------------------------------------------------------------


async def insert_run_in_flight(
    conn: Conn,
    *,
    sync_id: uuid.UUID,
    run_id: str,
    trigger: str,
    window_kind: str,
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
        trigger,
        window_kind,
        credentials_version,
        started_at,
        estimated_credits,
    )
    return bool(inserted)


async def finish_run_in_flight(conn: Conn, sync_id: uuid.UUID, run_id: str) -> asyncpg.Record | None:
    """Clear the sync's run in flight if it is ``run_id``; returns the cleared row."""
    return await conn.fetchrow(
        "DELETE FROM runs_in_flight WHERE sync_id = $1 AND run_id = $2 RETURNING *", sync_id, run_id
    )


# credit budgets ---------------------------------------------------------------------------------------


async def lock_budget(conn: Conn, connection_id: uuid.UUID) -> None:
    """Serialise budget checks of one connection until the transaction ends, so two replicas never
    both spend its last credits. An advisory lock, not the connection's row: ``rekey`` holds that
    row while it updates syncs that a tick may hold, and the two would deadlock."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 11))", connection_id)


async def credit_spends(conn: Conn, connection_id: uuid.UUID, since: datetime) -> list[asyncpg.Record]:
    """The connection's finished runs since ``since``: ``spent_at`` and ``credits``."""
    return await conn.fetch(
        "SELECT spent_at, credits FROM credit_spend WHERE connection_id = $1 AND spent_at > $2",
        connection_id,
        since,
    )


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


async def save_favourite(conn: Conn, name: str, mapping: list[dict[str, str]]) -> None:
    await conn.execute(
        "INSERT INTO favourites (name, mapping) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET mapping = EXCLUDED.mapping, saved_at = now()",
        name,
        mapping,
    )


async def favourites(conn: Conn) -> dict[str, list[dict[str, str]]]:
    rows = await conn.fetch("SELECT name, mapping FROM favourites ORDER BY name")
    return {row["name"]: row["mapping"] for row in rows}


# inbox ---------------------------------------------------------------------------------------


async def mark_processed(conn: Conn, event_id: uuid.UUID) -> bool:
    """Record an incoming event; False when it was handled before (a redelivery)."""
    inserted = await conn.fetchval(
        "INSERT INTO inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING true", event_id
    )
    return bool(inserted)
