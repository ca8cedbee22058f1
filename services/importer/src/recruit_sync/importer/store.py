"""All SQL of the importer (schema ``importer``), set-based: a batch costs a fixed number of statements.

A batch runs in one transaction (see ``handlers.import_batch``) that first takes an advisory lock on
its target list: batches of one list, from any number of importer processes, are applied one at a time,
so two of them never both decide ``new`` for one email and never interleave their membership changes.
Contacts the batch touches are then row-locked in key order, and new contacts and links are written in
key order too, so batches of *different* lists sharing contacts queue behind each other. (Three or more
lists racing to create the same new contacts can still form a cycle; PostgreSQL breaks it and the batch
is retried, ``DeadlockDetectedError`` being a transient error for ``runtime.broker.consume``.)

Bulk parameters travel as one JSON document per statement (a list of keys, or a list of row arrays)
read with ``jsonb_array_elements``: asyncpg's array encoder costs about 0.4 µs per element in Python,
which made it the largest client-side cost of a batch; orjson costs a twentieth of that.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import asyncpg

from recruit_sync.contracts.events import BatchImported, IgnoreReason, RecordOutcome
from recruit_sync.importer.decide import Decision, Facts, Membership, StoredContact

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
_first = itemgetter(0)


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
    records: Sequence[tuple[str, str]],
    deleted_ids: Sequence[str],
) -> Facts:
    """Everything ``decide`` needs about a batch: its (record id, email key) pairs and deleted record ids.

    Contacts are locked (``FOR UPDATE``, in key order) until the batch commits. The links of records
    whose contact does not exist yet are not read: ``apply`` upserts them anyway.

    Every lookup is a LATERAL subquery, i.e. one primary-key probe per key: the cost stays proportional
    to the batch whatever the table sizes and statistics (a plain join lets the planner choose a hash
    join over a whole-table scan, which it does on tables not analysed yet, e.g. during a first import).
    """
    links = await _links(conn, module, deleted_ids)
    keys = sorted({key for _, key in records}.union(links.values()))
    if not keys:
        return Facts(links=links)
    rows = await conn.fetch(
        """
        SELECT t.key, c.email, c.first_name, c.last_name, c.fields, c.deleted,
               m.sync_id, m.added_at, m.settings_version, s.reasons, r.seen IS NOT NULL AS seen
          FROM jsonb_array_elements_text($1::jsonb) AS t(key)
          LEFT JOIN LATERAL (
                SELECT email, first_name, last_name, fields, deleted_at IS NOT NULL AS deleted
                  FROM contacts WHERE email_key = t.key
                   FOR UPDATE
               ) c ON true
          LEFT JOIN LATERAL (  -- the membership of a contact that exists (the filter skips the probe)
                SELECT sync_id, added_at, settings_version
                  FROM memberships WHERE c.email IS NOT NULL AND email_key = t.key AND list_id = $2
                 LIMIT 1
               ) m ON true
          LEFT JOIN LATERAL (
                SELECT array_agg(reason) AS reasons FROM suppressions WHERE email_key = t.key
               ) s ON true
          LEFT JOIN LATERAL (
                SELECT true AS seen FROM run_emails WHERE email_key = t.key AND run_id = $3 LIMIT 1
               ) r ON true
         WHERE c.email IS NOT NULL OR s.reasons IS NOT NULL OR r.seen  -- nothing known: a new email
        """,
        keys,
        list_id,
        run_id,
    )
    contacts = {r["key"]: _stored_contact(r) for r in rows if r["email"] is not None}
    links.update(await _links(conn, module, [rid for rid, key in records if key in contacts]))
    return Facts(
        contacts=contacts,
        suppressed={r["key"]: frozenset(map(IgnoreReason, r["reasons"])) for r in rows if r["reasons"]},
        seen_in_run=frozenset(r["key"] for r in rows if r["seen"]),
        links=links,
    )


async def _links(conn: Connection, module: str, record_ids: Sequence[str]) -> dict[str, str]:
    if not record_ids:
        return {}
    rows = await conn.fetch(
        """
        SELECT t.id, l.email_key
          FROM jsonb_array_elements_text($2::jsonb) AS t(id)
         CROSS JOIN LATERAL (
               SELECT email_key FROM record_links WHERE record_id = t.id AND module = $1 LIMIT 1
               ) l
        """,
        module,
        list(record_ids),
    )
    return {r["id"]: r["email_key"] for r in rows}


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
            "UPDATE contacts SET deleted_at = now(), updated_at = now() "
            "WHERE email_key IN (SELECT jsonb_array_elements_text($1::jsonb))",
            decision.soft_delete,
        )
    if decision.leave_all_lists:
        await conn.execute(
            "DELETE FROM memberships WHERE email_key IN (SELECT jsonb_array_elements_text($1::jsonb))",
            decision.leave_all_lists,
        )
    if decision.leave_list:
        await conn.execute(
            "DELETE FROM memberships "
            "WHERE email_key IN (SELECT jsonb_array_elements_text($2::jsonb)) AND list_id = $1",
            list_id,
            decision.leave_list,
        )
    if decision.unlink:
        await conn.execute(
            "DELETE FROM record_links "
            "WHERE record_id IN (SELECT jsonb_array_elements_text($2::jsonb)) AND module = $1",
            module,
            decision.unlink,
        )
    lost = await _write_contacts(conn, decision) if decision.contacts else set()
    if decision.join_list:
        await conn.execute(
            """
            INSERT INTO memberships (list_id, email_key, sync_id, record_id, settings_version)
            SELECT $1, r->>0, $2, r->>1, $3 FROM jsonb_array_elements($4::jsonb) AS r
            """,
            list_id,
            sync_id,
            settings_version,
            decision.join_list,
        )
    if decision.link:
        await conn.execute(
            """
            INSERT INTO record_links (record_id, module, email_key)
            SELECT r->>0, $1, r->>1 FROM jsonb_array_elements($2::jsonb) AS r
            ON CONFLICT (record_id, module) DO UPDATE SET email_key = EXCLUDED.email_key
            """,
            module,
            sorted(decision.link.items()),
        )
    if decision.seen:
        await conn.execute(
            """
            INSERT INTO run_emails (email_key, run_id, record_id, modified_at, seq)
            SELECT r->>0, $1, r->>1, (r->>2)::timestamptz, $2 FROM jsonb_array_elements($3::jsonb) AS r
            """,
            run_id,
            seq,
            decision.seen,
        )
    return lost


async def _write_contacts(conn: Connection, decision: Decision) -> set[str]:
    rows = await conn.fetch(
        """
        WITH written AS (
            INSERT INTO contacts AS c (email_key, email, first_name, last_name, fields)
            SELECT r->>0, r->>1, r->>2, r->>3, r->4 FROM jsonb_array_elements($1::jsonb) AS r
            ON CONFLICT (email_key) DO UPDATE
               SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
                   fields = c.fields || EXCLUDED.fields, deleted_at = NULL, updated_at = now()
            RETURNING email_key, xmax = 0 AS inserted
        )
        SELECT email_key FROM written
         WHERE NOT inserted AND email_key IN (SELECT jsonb_array_elements_text($2::jsonb))
        """,
        sorted(decision.contacts, key=_first),
        list(decision.created),
    )
    return {r["email_key"] for r in rows}


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
        event.model_dump(mode="json", include={"outcomes"})["outcomes"],  # one call: 3x faster than per item
    )


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
    rows = await conn.fetch(
        """
        INSERT INTO suppressions (email_key, email, reason)
        SELECT DISTINCT ON (r->>0) r->>0, r->>1, $1 FROM jsonb_array_elements($2::jsonb) AS r
        ON CONFLICT (email_key, reason) DO NOTHING
        RETURNING email_key
        """,
        reason,
        list(addresses),
    )
    return len(rows)


async def remove_suppressions(conn: Connection, keys: Sequence[str]) -> int:
    """Remove these addresses from the registry, whatever the reason; returns how many addresses left it."""
    rows = await conn.fetch(
        "DELETE FROM suppressions WHERE email_key IN (SELECT jsonb_array_elements_text($1::jsonb)) "
        "RETURNING email_key",
        list(keys),
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
