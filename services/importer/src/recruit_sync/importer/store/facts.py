"""Reading what ``decide`` needs about a batch (``Facts``): one query for its email keys, plus the
record links of its records and deletions; under the list's lock, or ahead of it (docs/adr/0025)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.importer.ahead import Stamps
from recruit_sync.importer.claims import CREATED, Claim
from recruit_sync.importer.contacts import Membership, StoredContact
from recruit_sync.importer.facts import Facts
from recruit_sync.importer.store import Connection
from recruit_sync.importer.store.priors import prior_from_json


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
    whose contact does not exist yet are not read: the writes upsert them anyway. ``other_lists``: also
    read the deleted records' memberships of other lists (remove_from_org removes those too).

    Every lookup is a LATERAL subquery, i.e. one primary-key probe per key: the cost stays proportional
    to the batch whatever the table sizes and statistics (a plain join lets the planner choose a hash
    join over a whole-table scan, which it does on tables not analysed yet, e.g. during a first import).
    """
    facts, _ = await _read(
        conn, _FACTS_LOCKED, list_id, run_id, module, records, deleted_ids, other_lists=other_lists
    )
    return facts


async def read_facts_ahead(
    conn: Connection, *, list_id: int, run_id: str, module: str, records: Sequence[tuple[str, str]]
) -> tuple[Facts, Stamps]:
    """``read_facts`` before the batch's turn (docs/adr/0025), for a batch without deletions: nothing is
    locked, and each contact found comes with its stamps, for ``stamps_now`` to check under the lock."""
    return await _read(conn, _FACTS_AHEAD, list_id, run_id, module, records, [], other_lists=False)


async def stamps_now(conn: Connection, list_id: int, keys: Sequence[str]) -> Stamps:
    """The stamps of these contacts (and of their memberships of the list) now, row-locking the contacts
    (``FOR UPDATE``, in key order, as ``read_facts`` would) until the batch commits."""
    if not keys:
        return {}
    rows = await conn.fetch(
        """
        SELECT t.key, c.stamp, m.stamp AS member_stamp
          FROM jsonb_array_elements_text($1::jsonb) AS t(key)
         CROSS JOIN LATERAL (SELECT xmin::text AS stamp FROM contacts WHERE email_key = t.key FOR UPDATE) c
          LEFT JOIN LATERAL (
                SELECT xmin::text AS stamp FROM memberships WHERE email_key = t.key AND list_id = $2 LIMIT 1
               ) m ON true
        """,
        sorted(keys),
        list_id,
    )
    return {r["key"]: (r["stamp"], r["member_stamp"]) for r in rows}


_FACTS = """
        SELECT t.key, c.email, c.first_name, c.last_name, c.fields, c.deleted, c.stamp, c.created_here,
               c.created_record_id, c.created_modified_at, c.created_seq, c.created_position,
               m.sync_id, m.added_at, m.settings_version, m.record_id AS member_record_id,
               m.stamp AS member_stamp, s.reasons,
               r.record_id AS claim_record_id, r.modified_at, r.seq, r.position, r.deletion, r.created,
               r.prior
          FROM jsonb_array_elements_text($1::jsonb) AS t(key)
          LEFT JOIN LATERAL (  -- (LIMIT: unlocked, this would be flattened into a join, and on a table
                               --  not analysed yet the planner hashes all of contacts for each batch)
                SELECT email, first_name, last_name, fields, deleted_at IS NOT NULL AS deleted,
                       xmin::text AS stamp, created_run = $3 AS created_here, created_record_id,
                       created_modified_at, created_seq, created_position
                  FROM contacts WHERE email_key = t.key
                 LIMIT 1 {lock}
               ) c ON true
          LEFT JOIN LATERAL (  -- the membership of a contact that exists (the filter skips the probe)
                SELECT sync_id, added_at, settings_version, record_id, xmin::text AS stamp
                  FROM memberships WHERE c.email IS NOT NULL AND email_key = t.key AND list_id = $2
                 LIMIT 1
               ) m ON true
          LEFT JOIN LATERAL (  -- (an aggregate per key cost a quarter of the query; EXISTS a fortieth)
                SELECT CASE WHEN EXISTS (SELECT FROM suppressions WHERE email_key = t.key)
                            THEN ARRAY(SELECT reason FROM suppressions WHERE email_key = t.key) END AS reasons
               ) s ON true
          LEFT JOIN LATERAL (
                SELECT record_id, modified_at, seq, position, deletion, created, prior
                  FROM run_emails WHERE email_key = t.key AND run_id = $3
                 LIMIT 1  -- (the primary key; without it the planner may scan the table)
               ) r ON true
         WHERE c.email IS NOT NULL OR s.reasons IS NOT NULL OR r.record_id IS NOT NULL
        """
_FACTS_LOCKED = _FACTS.format(lock="FOR UPDATE")
_FACTS_AHEAD = _FACTS.format(lock="")


async def _read(
    conn: Connection,
    statement: str,
    list_id: int,
    run_id: str,
    module: str,
    records: Sequence[tuple[str, str]],
    deleted_ids: Sequence[str],
    *,
    other_lists: bool,
) -> tuple[Facts, Stamps]:
    links = await _links(conn, module, deleted_ids)
    keys = sorted({key for _, key in records}.union(links.values()))
    if not keys:
        return Facts(links=links), {}
    rows = await conn.fetch(statement, keys, list_id, run_id)
    contacts = {r["key"]: _stored_contact(r) for r in rows if r["email"] is not None}
    deleted_keys = sorted(set(links.values()))
    links.update(await _links(conn, module, [rid for rid, key in records if key in contacts]))
    facts = Facts(
        contacts=contacts,
        suppressed={r["key"]: frozenset(map(IgnoreReason, r["reasons"])) for r in rows if r["reasons"]},
        claims={r["key"]: _claim(r) for r in rows if r["claim_record_id"] is not None or r["created_here"]},
        links=links,
        elsewhere=await _elsewhere(conn, list_id, deleted_keys) if other_lists else {},
    )
    return facts, {r["key"]: (r["stamp"], r["member_stamp"]) for r in rows if r["email"] is not None}


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
    """A claim as stored: a ``run_emails`` row if there is one, else the claim the contact's row keeps
    (the run created it: importer migration 0009). A contact the run created is a flag, any other
    prior a JSON document."""
    if row["claim_record_id"] is None:
        return Claim(
            record_id=row["created_record_id"],
            modified_at=row["created_modified_at"],
            seq=row["created_seq"],
            position=row["created_position"],
            prior=CREATED,
        )
    if row["created"]:
        prior = CREATED
    elif row["prior"] is not None:
        prior = prior_from_json(row["prior"], row["email"])
    else:
        prior = None
    return Claim(
        record_id=row["claim_record_id"],
        modified_at=row["modified_at"],
        seq=row["seq"],
        position=row["position"],
        deletion=row["deletion"],
        prior=prior,
    )
