"""Mailing lists: the lock a batch takes on its list, the list's id and version, and what the RPC
operations show."""

from __future__ import annotations

import uuid

from recruit_sync.contracts.resources import ListInfo, Member
from recruit_sync.importer.store import Connection


async def lock_list(conn: Connection, list_name: str) -> None:
    """Until the transaction ends, no other batch of this list runs (see ``store``'s docstring)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('list:' || $1))", list_name)


async def version_of(conn: Connection, list_id: int) -> int:
    """How many batches have been applied to the list (``reading ahead``: docs/adr/0025)."""
    return int(await conn.fetchval("SELECT version FROM lists WHERE id = $1", list_id))


async def advance(conn: Connection, list_id: int, writer: uuid.UUID) -> tuple[int, uuid.UUID | None]:
    """Count one more batch applied to the list, by ``writer``; under the list's lock. Returns the
    version and writer before (the statement reads them after the lock was taken: they are current)."""
    row = await conn.fetchrow(
        """
        UPDATE lists AS l SET version = l.version + 1, writer = $2
          FROM (SELECT version, writer FROM lists WHERE id = $1) AS before
         WHERE l.id = $1
        RETURNING before.version, before.writer
        """,
        list_id,
        writer,
    )
    assert row is not None  # (the list exists: ``ensure_list`` made it)
    return int(row["version"]), row["writer"]


async def ensure_list(conn: Connection, list_name: str) -> int:
    """The list's id; the list is created on first use (SPEC section 2.4)."""
    list_id = await conn.fetchval("SELECT id FROM lists WHERE name = $1", list_name)
    if list_id is None:
        list_id = await conn.fetchval(
            "INSERT INTO lists (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name "
            "RETURNING id",
            list_name,
        )
    return int(list_id)


async def list_members(conn: Connection, list_name: str) -> list[Member] | None:
    """The list's contacts, custom fields beside the names, by email; None if there is no such list."""
    list_id = await conn.fetchval("SELECT id FROM lists WHERE name = $1", list_name)
    if list_id is None:
        return None
    rows = await conn.fetch(
        """
        SELECT c.email, c.first_name, c.last_name, c.fields
          FROM memberships m JOIN contacts c USING (email_key)
         WHERE m.list_id = $1 AND c.deleted_at IS NULL
         ORDER BY c.email_key COLLATE "C"
        """,
        list_id,
    )
    return [
        Member(email=r["email"], first_name=r["first_name"], last_name=r["last_name"], **r["fields"])
        for r in rows
    ]


async def all_lists(conn: Connection) -> list[ListInfo]:
    rows = await conn.fetch(
        """
        SELECT l.name, count(m.email_key) AS members
          FROM lists l LEFT JOIN memberships m ON m.list_id = l.id
         GROUP BY l.id
         ORDER BY l.name COLLATE "C"
        """
    )
    return [ListInfo(name=r["name"], members=r["members"]) for r in rows]
