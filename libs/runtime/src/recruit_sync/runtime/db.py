"""PostgreSQL: one database, one schema per service, plain-SQL migrations, an asyncpg pool.

Each service keeps its migrations as ``NNNN_name.sql`` files beside its code and calls ``migrate``;
its pool's ``search_path`` is its own schema, so its SQL never names another service's tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
import structlog

log = structlog.get_logger()


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A pooled connection's reset on release, beyond asyncpg's own (which ends an open transaction):
    nothing. asyncpg's default sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``, a
    round trip and four statements for PostgreSQL at every release, several per batch; our code keeps no
    session state on a pooled connection (transaction-level locks, ``SET LOCAL``, no ``LISTEN``, cursors
    only inside transactions), so there is nothing for it to undo. ``test_db_and_broker`` checks that
    nothing is sent and that a transaction left open, and its locks, still end."""


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 5) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"recruit-sync-{schema}"},
        init=_init_connection,
        reset=_keep_session,
    )
    assert pool is not None
    return pool


async def connect(dsn: str, schema: str) -> asyncpg.Connection:
    """One connection whose ``search_path`` is ``schema``, with the pool's JSON codecs."""
    conn = await asyncpg.connect(
        dsn, server_settings={"search_path": schema, "application_name": f"recruit-sync-{schema}"}
    )
    await _init_connection(conn)
    return conn


def _database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or "postgres"


async def ensure_database(dsn: str) -> None:
    """Create the database named by ``dsn`` if it does not exist (INTERFACE: ``migrate`` does this)."""
    name = _database_name(dsn)
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(dsn)
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass
        finally:
            await admin.close()
        log.info("database created", database=name)
    else:
        await conn.close()


async def migrate(dsn: str, schema: str, migrations_dir: Path) -> list[str]:
    """Apply the ``*.sql`` files of ``migrations_dir`` not yet applied to ``schema``; returns their names."""
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations '
            "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{schema}".schema_migrations')}
        for path in sorted(migrations_dir.glob("*.sql")):
            if path.stem in done:
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}"')
                await conn.execute(path.read_text())
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_migrations (version) VALUES ($1)', path.stem
                )
            applied.append(path.stem)
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
    finally:
        await conn.close()
    if applied:
        log.info("migrations applied", schema=schema, versions=applied)
    return applied
