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
from datetime import datetime
from operator import itemgetter
from typing import Any

import asyncpg

from recruit_sync.contracts.events import BatchImported, IgnoreReason, RecordOutcome
from recruit_sync.importer.decide import (
    CREATED,
    Claim,
    ClaimRow,
    Decision,
    Facts,
    Membership,
    Prior,
    StoredContact,
)

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
_first = itemgetter(0)


# ------------------------------------------------------------------------------------ batch, reading


async def lock_list(conn: Connection, list_name: str) -> datetime:
    """Until the transaction ends, no other batch of this list runs (see the module docstring).

    Returns the database's clock once the lock is held: the batches of a list are applied one after
    the other, so these times order them, whichever importer process applied each (docs/adr/0007).
    """
    applied_at: datetime = await conn.fetchval(
        "SELECT clock_timestamp() FROM (SELECT pg_advisory_xact_lock(hashtext('list:' || $1))) AS locked",
        list_name,
    )
    return applied_at


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
    other_lists: bool,
) -> Facts:
    """Everything ``decide`` needs about a batch: its (record id, email key) pairs and deleted record ids.

    Contacts are locked (``FOR UPDATE``, in key order) until the batch commits. The links of records
    whose contact does not exist yet are not read: ``apply`` upserts them anyway. ``other_lists``: also
    read the deleted records' memberships of other lists (remove_from_org removes those too).

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
               m.sync_id, m.added_at, m.settings_version, m.record_id AS member_record_id, s.reasons,
               r.record_id AS claim_record_id, r.modified_at, r.deletion, r.created, r.prior
          FROM jsonb_array_elements_text($1::jsonb) AS t(key)
          LEFT JOIN LATERAL (
                SELECT email, first_name, last_name, fields, deleted_at IS NOT NULL AS deleted
                  FROM contacts WHERE email_key = t.key
                   FOR UPDATE
               ) c ON true
          LEFT JOIN LATERAL (  -- the membership of a contact that exists (the filter skips the probe)
                SELECT sync_id, added_at, settings_version, record_id
                  FROM memberships WHERE c.email IS NOT NULL AND email_key = t.key AND list_id = $2
                 LIMIT 1
               ) m ON true
          LEFT JOIN LATERAL (
                SELECT array_agg(reason) AS reasons FROM suppressions WHERE email_key = t.key
               ) s ON true
          LEFT JOIN LATERAL (
                SELECT record_id, modified_at, deletion, created, prior
                  FROM run_emails WHERE email_key = t.key AND run_id = $3
                 LIMIT 1  -- (the primary key; without it the planner may scan the table)
               ) r ON true
         WHERE c.email IS NOT NULL OR s.reasons IS NOT NULL OR r.record_id IS NOT NULL
        """,
        keys,
        list_id,
        run_id,
    )
    contacts = {r["key"]: _stored_contact(r) for r in rows if r["email"] is not None}
    deleted_keys = sorted(set(links.values()))
    links.update(await _links(conn, module, [rid for rid, key in records if key in contacts]))
    return Facts(
        contacts=contacts,
        suppressed={r["key"]: frozenset(map(IgnoreReason, r["reasons"])) for r in rows if r["reasons"]},
        claims={r["key"]: _claim(r) for r in rows if r["claim_record_id"] is not None},
        links=links,
        elsewhere=await _elsewhere(conn, list_id, deleted_keys) if other_lists else {},
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


async def _elsewhere(
    conn: Connection, list_id: int, keys: Sequence[str]
) -> dict[str, tuple[tuple[int, Membership], ...]]:
    if not keys:
        return {}
    rows = await conn.fetch(
        """
        SELECT email_key, list_id, sync_id, added_at, settings_version, record_id FROM memberships
         WHERE email_key IN (SELECT jsonb_array_elements_text($2::jsonb)) AND list_id <> $1
         ORDER BY email_key, list_id
        """,
        list_id,
        list(keys),
    )
    found: dict[str, list[tuple[int, Membership]]] = {}
    for r in rows:
        membership = Membership(r["sync_id"], r["added_at"], r["settings_version"], r["record_id"])
        found.setdefault(r["email_key"], []).append((r["list_id"], membership))
    return {key: tuple(memberships) for key, memberships in found.items()}


def _stored_contact(row: asyncpg.Record) -> StoredContact:
    membership = None
    if row["sync_id"] is not None:
        membership = Membership(
            row["sync_id"], row["added_at"], row["settings_version"], row["member_record_id"]
        )
    return StoredContact(
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        fields=row["fields"],
        deleted=row["deleted"],
        membership=membership,
    )


def _claim(row: asyncpg.Record) -> Claim:
    prior = row["prior"]
    return Claim(
        record_id=row["claim_record_id"],
        modified_at=row["modified_at"],
        deletion=row["deletion"],
        prior=CREATED
        if row["created"]
        else prior_from_json(prior, row["email"])
        if prior is not None
        else None,
    )


# A claim's Prior as stored in run_emails.prior (jsonb), kept small: it is written for every record
# that changes an existing contact. The address is not kept (it never changes: ``_claim`` takes it
# from the contact), nor the membership when the claimant left it alone.


def prior_to_json(prior: Prior) -> dict[str, Any]:
    contact = prior.contact
    if contact is None:
        return {"contact": None}
    document: dict[str, Any] = {
        "contact": {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "fields": contact.fields,
            "deleted": contact.deleted,
        }
    }
    if prior.membership_changed:
        document["membership"] = _membership_to_json(contact.membership) if contact.membership else None
    if prior.elsewhere:
        document["elsewhere"] = [[list_id, _membership_to_json(m)] for list_id, m in prior.elsewhere]
    return document


def prior_from_json(data: dict[str, Any], email: str | None) -> Prior:
    """``email``: the contact's address now (None only when it no longer exists)."""
    contact = data["contact"]
    if contact is None or email is None:
        return CREATED
    membership = data.get("membership")
    return Prior(
        contact=StoredContact(
            email=email,
            first_name=contact["first_name"],
            last_name=contact["last_name"],
            fields=contact["fields"],
            deleted=contact["deleted"],
            membership=_membership_from_json(membership) if membership else None,
        ),
        elsewhere=tuple((list_id, _membership_from_json(m)) for list_id, m in data.get("elsewhere", ())),
        membership_changed="membership" in data,
    )


def _membership_to_json(membership: Membership) -> dict[str, Any]:
    return {
        "sync_id": membership.sync_id,
        "added_at": membership.added_at.isoformat(),
        "settings_version": membership.settings_version,
        "record_id": membership.record_id,
    }


def _membership_from_json(data: dict[str, Any]) -> Membership:
    return Membership(
        data["sync_id"], datetime.fromisoformat(data["added_at"]), data["settings_version"], data["record_id"]
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

    Memberships of the target list are only ever written under the list's lock (a run has one list),
    so they are plain inserts: a conflict there would be a bug, not a race. Contacts and record links
    are shared with other lists' batches, hence their ON CONFLICT clauses. A run's claims are replaced
    when a more recent record takes an email over.
    """
    if decision.restore:
        await _restore(conn, list_id, decision.restore)
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
    if decision.claims:
        await conn.execute(
            """
            INSERT INTO run_emails (email_key, run_id, record_id, modified_at, seq, deletion, created, prior)
            SELECT r->>0, $1, r->>1, (r->>2)::timestamptz, $2, (r->>3)::boolean, (r->>4)::boolean,
                   nullif(r->5, 'null')
              FROM jsonb_array_elements($3::jsonb) AS r
            """,
            run_id,
            seq,
            _claim_rows(decision.claims),
        )
    if decision.reclaims:
        await conn.execute(
            """
            UPDATE run_emails AS e
               SET record_id = r->>1, modified_at = (r->>2)::timestamptz, seq = $2,
                   deletion = (r->>3)::boolean, created = (r->>4)::boolean, prior = nullif(r->5, 'null')
              FROM jsonb_array_elements($3::jsonb) AS r
             WHERE e.email_key = r->>0 AND e.run_id = $1
            """,
            run_id,
            seq,
            _claim_rows(decision.reclaims),
        )
    return lost


def _claim_rows(claims: Sequence[ClaimRow]) -> list[tuple[Any, ...]]:
    """Claims as stored: a contact the run created is a flag (the common case, kept cheap), any other
    prior a JSON document."""
    rows = []
    for key, record_id, modified_at, deletion, prior in claims:
        created = prior is CREATED or prior == CREATED  # (identity: the common case, quickly)
        document = prior_to_json(prior) if prior is not None and not created else None
        rows.append((key, record_id, modified_at, deletion, created, document))
    return rows


async def _restore(conn: Connection, list_id: int, restore: Sequence[tuple[str, Prior]]) -> None:
    """Put contacts back as the run found them, before a more recent record is applied (rare: only
    when a later batch brings a more recent record of an email an earlier batch placed). The priors
    given carry the target list's membership (``decide`` fills it in)."""
    rows = [
        (key, prior_to_json(prior)) for key, prior in sorted(restore, key=_first)
    ]  # key order, like every other write to contacts
    await conn.execute(
        "DELETE FROM memberships "
        "WHERE email_key IN (SELECT r->>0 FROM jsonb_array_elements($2::jsonb) AS r) AND list_id = $1",
        list_id,
        rows,
    )
    await conn.execute(
        """
        UPDATE contacts AS c
           SET first_name = p->>'first_name', last_name = p->>'last_name', fields = p->'fields',
               deleted_at = CASE WHEN (p->>'deleted')::boolean THEN coalesce(c.deleted_at, now()) END,
               updated_at = now()
          FROM (SELECT r->>0 AS key, r->1->'contact' AS p FROM jsonb_array_elements($1::jsonb) AS r) AS t
         WHERE c.email_key = t.key AND jsonb_typeof(t.p) = 'object'
        """,
        rows,
    )
    # a contact the run created goes again, unless another list took it meanwhile
    await conn.execute(
        """
        DELETE FROM contacts AS c
         USING (SELECT r->>0 AS key FROM jsonb_array_elements($1::jsonb) AS r
                 WHERE jsonb_typeof(r->1->'contact') = 'null') AS t
         WHERE c.email_key = t.key AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.email_key = t.key)
        """,
        rows,
    )
    await conn.execute(
        """
        INSERT INTO memberships (list_id, email_key, sync_id, record_id, added_at, settings_version)
        SELECT m.list_id, t.key, m.item->>'sync_id', m.item->>'record_id', (m.item->>'added_at')::timestamptz,
               (m.item->>'settings_version')::integer
          FROM (SELECT r->>0 AS key, r->1 AS p FROM jsonb_array_elements($2::jsonb) AS r) AS t
         CROSS JOIN LATERAL (
               SELECT $1::bigint AS list_id, t.p->'membership' AS item
               UNION ALL
               SELECT (e->>0)::bigint, e->1 FROM jsonb_array_elements(t.p->'elsewhere') AS e
               ) AS m
         WHERE jsonb_typeof(m.item) = 'object'
        ON CONFLICT (email_key, list_id) DO NOTHING
        """,
        list_id,
        rows,
    )


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
