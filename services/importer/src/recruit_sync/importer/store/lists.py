"""Mailing lists: the turn a batch takes on its list (its row lock), the list's id and version, and
what the RPC operations show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from recruit_sync.contracts.resources import ListInfo, Member
from recruit_sync.importer.store import Connection


async def version_of(conn: Connection, list_id: int) -> int:
    """How many batches have been applied to the list (``reading ahead``: docs/adr/0025)."""
    return int(await conn.fetchval("SELECT version FROM lists WHERE id = $1", list_id))


@dataclass(frozen=True)
class ListTurn:
    """What a batch finds when it takes its list's turn: the list's version and writer before its own,
    and whether a batch (run id, seq) was imported already, as far as ``take_turn`` could see."""

    version: int
    writer: uuid.UUID | None
    imported: bool


async def take_turn(
    conn: Connection, list_id: int, list_name: str, writer: uuid.UUID, run_id: str, seq: int
) -> ListTurn:
    """Lock the list until the transaction ends (no other batch of it runs meanwhile: see ``store``'s
    docstring) and count one more batch applied to it, by ``writer``, in one statement.

    The lock is the list's advisory lock, taken before the statement reads the list's row (a one-time
    filter above the scans: ``test_import_batch`` checks the plan), as importers before this one take it
    first too, then the list's row, locked by the update. The version and writer before are current:
    an UPDATE that waited reads the row as the batch before left it. Whether the batch was imported
    already is read as the statement began, before any wait: a redelivery imported by another process
    meanwhile is not seen here, and its writes then fail on the batch's own record (``imported_batches``'
    key), which the caller reads again.
    """
    row = await conn.fetchrow(_TAKE_TURN, list_id, writer, run_id, seq, list_name)
    assert row is not None  # (the list exists: ``ensure_list`` made it)
    return ListTurn(int(row["version"]), row["writer"], row["imported"])


_TAKE_TURN = """
WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtext('list:' || $5)))
UPDATE lists AS l SET version = l.version + 1, previous_writer = l.writer, writer = $2
  FROM (SELECT 1) AS one LEFT JOIN imported_batches AS b ON b.run_id = $3 AND b.seq = $4
 WHERE l.id = $1 AND EXISTS (SELECT FROM locked)
RETURNING l.version - 1 AS version, l.previous_writer AS writer, b.seq IS NOT NULL AS imported
"""


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
