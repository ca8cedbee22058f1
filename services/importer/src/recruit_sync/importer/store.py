"""All SQL of the importer (schema ``importer``), set-based: a batch costs a fixed number of statements.

A batch runs in one transaction (see ``handlers.import_batch``) that first takes an advisory lock on
its target list: batches of one list, from any number of importer processes, are applied one at a time,
so two of them never both decide ``new`` for one email and never interleave their membership changes.
Contacts the batch touches are then row-locked in key order; new contacts, links and run state are
written in key order too, so batches of *different* lists sharing contacts wait for each other instead
of deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
import orjson

from recruit_sync.contracts.events import BatchImported, IgnoreReason, RecordOutcome
from recruit_sync.importer.decide import Decision, Facts, Membership, StoredContact

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


# ------------------------------------------------------------------------------------ batch, reading


async def lock_list(conn: Connection, list_name: str) -> None:
    """Until the transaction ends, no other batch of this list runs (see the module docstring)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('list:' || $1))", list_name)


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


async def imported_batch(conn: Connection, run_id: str, seq: int) -> BatchImported | None:
    """The BatchImported this batch produced when it was imported before, exactly as published then."""
    row = await conn.fetchrow(
        "SELECT sync_id, event_id, causation_id, occurred_at, outcomes FROM imported_batches "
        "WHERE run_id = $1 AND seq = $2",
        run_id,
        seq,
    )
    if row is None:
        return None
    return BatchImported(
        event_id=row["event_id"],
        occurred_at=row["occurred_at"],
        correlation_id=run_id,
        causation_id=row["causation_id"],
        run_id=run_id,
        sync_id=row["sync_id"],
        seq=seq,
        outcomes=[RecordOutcome.model_validate(o) for o in row["outcomes"]],
    )


async def read_facts(
    conn: Connection,
    *,
    list_id: int,
    run_id: str,
    module: str,
    keys: Sequence[str],
    record_ids: Sequence[str],
) -> Facts:
    """Everything ``decide`` needs about these email keys and Recruit record ids (live and deleted).

    Contacts are locked (``FOR UPDATE``, in key order) until the batch commits.
    """
    links: dict[str, str] = {}
    if record_ids:
        rows = await conn.fetch(
            "SELECT l.record_id, l.email_key FROM unnest($2::text[]) AS t(id) "
            "JOIN record_links l ON l.module = $1 AND l.record_id = t.id",
            module,
            list(record_ids),
        )
        links = {r["record_id"]: r["email_key"] for r in rows}
    wanted = sorted(set(keys).union(links.values()))
    if not wanted:
        return Facts(links=links)
    rows = await conn.fetch(
        """
        SELECT c.email_key, c.email, c.first_name, c.last_name, c.fields, c.deleted_at IS NOT NULL AS deleted,
               m.sync_id, m.added_at, m.settings_version
          FROM unnest($1::text[]) AS t(key)
          JOIN contacts c ON c.email_key = t.key
          LEFT JOIN memberships m ON m.email_key = c.email_key AND m.list_id = $2
         ORDER BY c.email_key
           FOR UPDATE OF c
        """,
        wanted,
        list_id,
    )
    contacts = {r["email_key"]: _stored_contact(r) for r in rows}
    rows = await conn.fetch(
        """
        SELECT s.email_key, s.reason, false AS seen
          FROM unnest($1::text[]) AS t(key) JOIN suppressions s ON s.email_key = t.key
        UNION ALL
        SELECT r.email_key, NULL, true
          FROM unnest($1::text[]) AS t(key) JOIN run_emails r ON r.run_id = $2 AND r.email_key = t.key
        """,
        list(keys),
        run_id,
    )
    suppressed: dict[str, set[IgnoreReason]] = {}
    for r in rows:
        if not r["seen"]:
            suppressed.setdefault(r["email_key"], set()).add(IgnoreReason(r["reason"]))
    return Facts(
        contacts=contacts,
        suppressed={key: frozenset(reasons) for key, reasons in suppressed.items()},
        seen_in_run=frozenset(r["email_key"] for r in rows if r["seen"]),
        links=links,
    )


def _stored_contact(row: asyncpg.Record) -> StoredContact:
    membership = None
    if row["sync_id"] is not None:
        membership = Membership(row["sync_id"], row["added_at"], row["settings_version"])
    return StoredContact(
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        fields=row["fields"],
        deleted=row["deleted"],
        membership=membership,
    )


# ------------------------------------------------------------------------------------ batch, writing


async def apply(
    conn: Connection,
    decision: Decision,
    *,
    list_id: int,
    sync_id: str,
    run_id: str,
    seq: int,
    module: str,
    settings_version: int,
) -> set[str]:
    """Write the decision. Returns the keys decided ``new`` that another transaction created first.

    Memberships of the target list and the run's emails are only ever written under the list's lock
    (a run has one list), so they are plain inserts: a conflict there would be a bug, not a race.
    Contacts and record links are shared with other lists' batches, hence their ON CONFLICT clauses.
    """
    if decision.soft_delete:
        await conn.execute(
            "UPDATE contacts SET deleted_at = now(), updated_at = now() WHERE email_key = ANY($1::text[])",
            decision.soft_delete,
        )
    if decision.leave_all_lists:
        await conn.execute(
            "DELETE FROM memberships WHERE email_key = ANY($1::text[])", decision.leave_all_lists
        )
    if decision.leave_list:
        await conn.execute(
            "DELETE FROM memberships m USING unnest($2::text[]) AS t(k) WHERE m.email_key = t.k AND m.list_id = $1",
            list_id,
            decision.leave_list,
        )
    if decision.unlink:
        await conn.execute(
            "DELETE FROM record_links WHERE module = $1 AND record_id = ANY($2::text[])",
            module,
            decision.unlink,
        )
    lost = await _write_contacts(conn, decision) if decision.contacts else set()
    if decision.join_list:
        keys, record_ids = _columns(((m.key, m.record_id) for m in decision.join_list), 2)
        await conn.execute(
            """
            INSERT INTO memberships (list_id, email_key, sync_id, record_id, settings_version)
            SELECT $1, k, $2, r, $3 FROM unnest($4::text[], $5::text[]) AS t(k, r)
            """,
            list_id,
            sync_id,
            settings_version,
            keys,
            record_ids,
        )
    if decision.link:
        record_ids, keys = _columns(sorted(decision.link), 2)
        await conn.execute(
            """
            INSERT INTO record_links (module, record_id, email_key)
            SELECT $1, r, k FROM unnest($2::text[], $3::text[]) AS t(r, k)
            ON CONFLICT (module, record_id) DO UPDATE SET email_key = EXCLUDED.email_key
            """,
            module,
            record_ids,
            keys,
        )
    if decision.seen:
        keys, record_ids, times = _columns(((s.key, s.record_id, s.modified_at) for s in decision.seen), 3)
        await conn.execute(
            """
            INSERT INTO run_emails (run_id, email_key, record_id, modified_at, seq)
            SELECT $1, k, r, m, $2 FROM unnest($3::text[], $4::text[], $5::timestamptz[]) AS t(k, r, m)
            """,
            run_id,
            seq,
            keys,
            record_ids,
            times,
        )
    return lost


async def _write_contacts(conn: Connection, decision: Decision) -> set[str]:
    rows = sorted(decision.contacts, key=lambda c: c.key)
    rows_lost = await conn.fetch(
        """
        WITH written AS (
            INSERT INTO contacts AS c (email_key, email, first_name, last_name, fields)
            SELECT k, e, f, l, x::jsonb
              FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(k, e, f, l, x)
            ON CONFLICT (email_key) DO UPDATE
               SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
                   fields = c.fields || EXCLUDED.fields, deleted_at = NULL, updated_at = now()
            RETURNING email_key, xmax = 0 AS inserted
        )
        SELECT email_key FROM written WHERE NOT inserted AND email_key = ANY($6::text[])
        """,
        [c.key for c in rows],
        [c.email for c in rows],
        [c.first_name for c in rows],
        [c.last_name for c in rows],
        [orjson.dumps(c.fields).decode() for c in rows],
        list(decision.created),
    )
    return {r["email_key"] for r in rows_lost}


async def record_batch(conn: Connection, event: BatchImported) -> None:
    await conn.execute(
        """
        INSERT INTO imported_batches (run_id, seq, sync_id, event_id, causation_id, occurred_at, outcomes)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """,
        event.run_id,
        event.seq,
        event.sync_id,
        event.event_id,
        event.causation_id,
        event.occurred_at,
        [o.model_dump(mode="json") for o in event.outcomes],
    )


def _columns(rows: Iterable[tuple[Any, ...]], width: int) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


# ------------------------------------------------------------------------------------ lists (RPC)


async def list_members(conn: Connection, list_name: str) -> list[dict[str, Any]] | None:
    """The list's contacts, custom fields flattened beside the names, by email; None if no such list."""
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
        {**r["fields"], "email": r["email"], "first_name": r["first_name"], "last_name": r["last_name"]}
        for r in rows
    ]


async def all_lists(conn: Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT l.name, count(m.email_key) AS members
          FROM lists l LEFT JOIN memberships m ON m.list_id = l.id
         GROUP BY l.id
         ORDER BY l.name COLLATE "C"
        """
    )
    return [{"name": r["name"], "members": r["members"]} for r in rows]


# ------------------------------------------------------------------------------------ suppressions


async def add_suppressions(conn: Connection, reason: str, addresses: Sequence[tuple[str, str]]) -> int:
    """Add (email key, email) pairs under ``reason``; returns how many were not already there."""
    keys, emails = _columns(addresses, 2)
    rows = await conn.fetch(
        """
        INSERT INTO suppressions (email_key, email, reason)
        SELECT DISTINCT ON (k) k, e, $1 FROM unnest($2::text[], $3::text[]) AS t(k, e)
        ON CONFLICT (email_key, reason) DO NOTHING
        RETURNING email_key
        """,
        reason,
        keys,
        emails,
    )
    return len(rows)


async def remove_suppressions(conn: Connection, keys: Sequence[str]) -> int:
    """Remove these addresses from the registry, whatever the reason; returns how many addresses left it."""
    rows = await conn.fetch(
        "DELETE FROM suppressions WHERE email_key = ANY($1::text[]) RETURNING email_key", list(keys)
    )
    return len({r["email_key"] for r in rows})


async def list_suppressions(conn: Connection, reason: str | None) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT email, reason, created_at FROM suppressions
         WHERE $1::text IS NULL OR reason = $1
         ORDER BY email_key COLLATE "C", reason
        """,
        reason,
    )
    return [
        {"email": r["email"], "reason": r["reason"], "created_at": r["created_at"].isoformat()} for r in rows
    ]
