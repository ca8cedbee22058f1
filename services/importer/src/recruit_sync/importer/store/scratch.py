"""Scratch copies of the contact store (docs/adr/0020): where a dry run or a preview decides batches with
the live code while the live tables never see a write.

A scratch is a schema of its own, ``scratch_<32 hex>``, made by the importer's own migrations, so its
tables are the live ones' shape by construction. It starts with the lists (same ids) and nothing else;
the facts of the emails a batch needs are copied in just before the batch is decided (``seed_from_store``),
once per email: from the live store as it is now (a preview), or, for a dry run, first from the facts the
run found (``seed_as_found``: ``run_emails.found``), the store as it is now only for what the run did not
look up. A scratch lives as long as its dry run or preview; one a crash left behind is dropped by the next
``open_scratch`` once it is ``STALE_AFTER`` old.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog

from recruit_sync.importer.store import Connection
from recruit_sync.runtime.db import connect, migrate

log = structlog.get_logger()

LIVE = "importer"  # the live store's schema (the service's name)
PREFIX = "scratch_"
NAME = re.compile(r"^scratch_[0-9a-f]{32}$")
STALE_AFTER = timedelta(hours=6)


async def open_scratch(dsn: str, migrations: Path) -> str:
    """A new, empty scratch (its lists copied); returns its name."""
    await drop_stale(dsn)
    name = PREFIX + uuid.uuid4().hex
    await migrate(dsn, name, migrations)
    conn = await connect(dsn, name)
    try:
        await conn.execute(
            f"""
            COMMENT ON SCHEMA "{name}" IS 'recruit-sync scratch store';
            CREATE TABLE seeded (email_key text PRIMARY KEY);  -- emails whose facts are in
            INSERT INTO lists (id, name, created_at) OVERRIDING SYSTEM VALUE
                 SELECT id, name, created_at FROM {LIVE}.lists;
            SELECT setval(pg_get_serial_sequence('lists', 'id'), coalesce(max(id), 0) + 1, false) FROM lists;
            """
        )
    finally:
        await conn.close()
    return name


async def drop_scratch(dsn: str, name: str) -> None:
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a scratch store's name")
    conn = await connect(dsn, LIVE)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


async def drop_stale(dsn: str) -> list[str]:
    """Drop the scratches older than ``STALE_AFTER`` (left by a process that died during a dry run)."""
    conn = await connect(dsn, LIVE)
    stale = []
    try:
        names = [r["nspname"] for r in await conn.fetch("SELECT nspname FROM pg_namespace")]
        for name in filter(NAME.match, names):
            try:
                made = await conn.fetchval(
                    f'SELECT min(applied_at) < now() - $1::interval FROM "{name}".schema_migrations',
                    STALE_AFTER,
                )
            except asyncpg.PostgresError:  # being made or dropped right now
                continue
            if made:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                stale.append(name)
    finally:
        await conn.close()
    if stale:
        log.info("stale scratch stores dropped", scratches=stale)
    return stale


async def seed_as_found(conn: Connection, *, run_id: str, list_name: str, module: str) -> int:
    """Put the facts run ``run_id`` found (its claims' ``found``, docs/adr/0020) into the scratch ``conn``
    works in: contacts with their membership of the run's list, suppressions, and the links of the
    records whose deletion it acted on. An email whose contact the run created is marked as seeded with
    nothing (there was nothing). Returns how many emails were seeded."""
    list_id = await conn.fetchval("SELECT id FROM lists WHERE name = $1", list_name)
    return int(
        await conn.fetchval(
            f"""
            WITH claims AS (
                SELECT email_key, record_id, deletion, created, found FROM {LIVE}.run_emails
                 WHERE run_id = $1 AND (created OR found IS NOT NULL)
                 UNION ALL  -- the claims on contacts the run created, kept on the contact (migration 0009)
                SELECT email_key, created_record_id, false, true, NULL FROM {LIVE}.contacts AS c
                 WHERE created_run = $1
                   AND NOT EXISTS (SELECT FROM {LIVE}.run_emails AS e
                                    WHERE e.run_id = $1 AND e.email_key = c.email_key)
            ), contacts_in AS (
                INSERT INTO contacts (email_key, email, first_name, last_name, fields, deleted_at)
                SELECT email_key, c->>'email', c->>'first_name', c->>'last_name', c->'fields',
                       CASE WHEN (c->>'deleted')::boolean THEN now() END
                  FROM claims, LATERAL (SELECT found->'contact' AS c) AS f
                 WHERE jsonb_typeof(c) = 'object'
            ), memberships_in AS (
                INSERT INTO memberships (list_id, email_key, sync_id, record_id, added_at, settings_version)
                SELECT $2, email_key, m->>'sync_id', m->>'record_id', (m->>'added_at')::timestamptz,
                       (m->>'settings_version')::integer
                  FROM claims, LATERAL (SELECT found->'contact'->'membership' AS m) AS f
                 WHERE $2::bigint IS NOT NULL AND jsonb_typeof(m) = 'object'
            ), suppressions_in AS (
                INSERT INTO suppressions (email_key, email, reason)
                SELECT email_key, coalesce(found->'contact'->>'email', email_key), reason
                  FROM claims, jsonb_array_elements_text(coalesce(found->'suppressed', '[]')) AS reason
            ), links_in AS (
                INSERT INTO record_links (record_id, module, email_key)
                SELECT record_id, $3, email_key FROM claims WHERE deletion
                ON CONFLICT DO NOTHING
            ), seeded_in AS (
                INSERT INTO seeded (email_key) SELECT email_key FROM claims RETURNING 1
            )
            SELECT count(*) FROM seeded_in
            """,
            run_id,
            list_id,
            module,
        )
    )


async def seed_from_store(
    conn: Connection, *, keys: Sequence[str], module: str, deleted_ids: Sequence[str]
) -> int:
    """Copy from the live store what a batch needs and the scratch does not have yet: the links of its
    deleted records, then the contacts (with every membership) and suppressions of its emails and of
    those links' emails. Returns how many emails were seeded."""
    if deleted_ids:
        await conn.execute(
            f"""
            INSERT INTO record_links (record_id, module, email_key)
            SELECT l.record_id, l.module, l.email_key FROM {LIVE}.record_links AS l
             WHERE l.module = $1 AND l.record_id IN (SELECT jsonb_array_elements_text($2::jsonb))
            ON CONFLICT DO NOTHING
            """,
            module,
            list(deleted_ids),
        )
    return int(
        await conn.fetchval(
            f"""
            WITH wanted AS (
                SELECT jsonb_array_elements_text($1::jsonb) AS email_key
                 UNION
                SELECT email_key FROM record_links
                 WHERE module = $2 AND record_id IN (SELECT jsonb_array_elements_text($3::jsonb))
            ), fresh AS (
                INSERT INTO seeded (email_key) SELECT email_key FROM wanted
                ON CONFLICT DO NOTHING
                RETURNING email_key
            ), contacts_in AS (
                -- (not the claims a live contact keeps: the scratch's own runs claim in the scratch)
                INSERT INTO contacts (email_key, email, first_name, last_name, fields, created_at, updated_at,
                                      deleted_at)
                SELECT c.email_key, c.email, c.first_name, c.last_name, c.fields, c.created_at, c.updated_at,
                       c.deleted_at
                  FROM {LIVE}.contacts AS c JOIN fresh USING (email_key)
            ), memberships_in AS (
                INSERT INTO memberships SELECT m.* FROM {LIVE}.memberships AS m JOIN fresh USING (email_key)
            ), suppressions_in AS (
                INSERT INTO suppressions SELECT s.* FROM {LIVE}.suppressions AS s JOIN fresh USING (email_key)
            )
            SELECT count(*) FROM fresh
            """,
            sorted(set(keys)),
            module,
            list(deleted_ids),
        )
    )
