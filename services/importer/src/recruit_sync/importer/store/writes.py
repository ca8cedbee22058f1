"""Applying a ``Decision`` and recording the batch: the rare writes (deletions, restores) first, each
skipped when it has nothing to write, then the contacts, then the rest in one statement."""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, Final

import orjson

from recruit_sync.contracts.envelope import utc_now
from recruit_sync.contracts.events import BatchImported, RecordBatch
from recruit_sync.importer.claims import CREATED, Prior
from recruit_sync.importer.decide import ClaimRow, Decision
from recruit_sync.importer.store import Connection
from recruit_sync.importer.store.batches import stored_batch, stored_json
from recruit_sync.importer.store.priors import NOTHING_FOUND, found_to_json, prior_to_json

_first = itemgetter(0)

_MEMBERSHIPS_LINKS_CLAIMS_AND_BATCH = """
WITH joined AS (
    INSERT INTO memberships (list_id, email_key, sync_id, record_id, settings_version)
    SELECT $1, r->>0, $2, r->>1, $3 FROM jsonb_array_elements($4::jsonb) AS r
), linked AS (
    INSERT INTO record_links (record_id, module, email_key)
    SELECT r->>0, $5, r->>1 FROM jsonb_array_elements($6::jsonb) AS r
    {links_conflict}
), claimed AS (
    INSERT INTO run_emails
           (email_key, run_id, record_id, modified_at, seq, position, deletion, created, prior, found)
    SELECT r->>0, $7, r->>1, (r->>2)::timestamptz, $8, (r->>3)::integer, (r->>4)::boolean,
           (r->>5)::boolean, nullif(r->6, 'null'), nullif(r->7, 'null')
      FROM jsonb_array_elements($9::jsonb) AS r
), reclaimed AS (  -- emails claimed by an earlier batch: never among those claimed above
    -- (an upsert: the earlier claim may be on the contact row, then this row is the claim from now on;
    -- a claim row keeps the `found` of the run's first claim, and one on a created contact had none)
    INSERT INTO run_emails AS e
           (email_key, run_id, record_id, modified_at, seq, position, deletion, created, prior)
    SELECT r->>0, $7, r->>1, (r->>2)::timestamptz, $8, (r->>3)::integer, (r->>4)::boolean,
           (r->>5)::boolean, nullif(r->6, 'null')
      FROM jsonb_array_elements($10::jsonb) AS r
    ON CONFLICT (run_id, email_key) DO UPDATE
       SET record_id = EXCLUDED.record_id, modified_at = EXCLUDED.modified_at, seq = EXCLUDED.seq,
           position = EXCLUDED.position, deletion = EXCLUDED.deletion, created = EXCLUDED.created,
           prior = EXCLUDED.prior
)
INSERT INTO imported_batches (run_id, seq, sync_id, event_id, causation_id, occurred_at, outcomes, superseded)
VALUES ($7, $8, $11, $12, $13, $14, $15, $16)
"""
_REST = _MEMBERSHIPS_LINKS_CLAIMS_AND_BATCH.format(
    links_conflict="ON CONFLICT (record_id, module) DO UPDATE SET email_key = EXCLUDED.email_key"
)
# the links of a batch that only creates (``Writes.creates_only``: a first import's), inserted plainly
# (``apply``); an existing link raises on ``LINKS_KEY`` and the batch is applied again with ``_REST``
_REST_NEW_LINKS = _MEMBERSHIPS_LINKS_CLAIMS_AND_BATCH.format(links_conflict="")


@dataclass(frozen=True, eq=False)
class Writes:
    """A decision's writes with their bulk parameters encoded, and the batch's event with its stored form,
    made before the batch takes its list's turn (``prepare``): under the lock, ``apply`` only sends them.
    All as if no contact decided ``new`` is created by another transaction first (``apply`` makes again
    what that changes, when it happens)."""

    decision: Decision
    event: BatchImported  # stamped again when applied
    encoded: tuple[bytes, bytes]  # ``stored_json(event)``
    contacts: orjson.Fragment  # the contact rows in key order, the ones to insert with their claims
    created: orjson.Fragment  # the keys decided ``new``
    join_list: orjson.Fragment
    links: orjson.Fragment
    contacts_all_new: bool  # every contact the batch writes was decided ``new``
    creates_only: bool  # and every link it writes is to one of them
    claims: orjson.Fragment  # the claims ``run_emails`` keeps (all but those on created contacts)
    reclaims: orjson.Fragment


def prepare(decision: Decision, event: BatchImported) -> Writes:
    """Encode ``decision``'s bulk parameters and ``event``'s stored form (a few milliseconds for a batch of
    2,000 records, spent while the batch before holds the list's turn, not under it)."""
    on_contacts = _claims_on_created_contacts(decision)
    in_order = sorted(decision.contacts, key=_first)
    contacts = [row + on_contacts[row[0]] if row[0] in on_contacts else row for row in in_order]
    contacts_all_new = len(decision.created) == len(decision.contacts)
    return Writes(
        decision=decision,
        event=event,
        encoded=stored_json(event),
        contacts=_json(contacts),
        created=_json(list(decision.created)),
        join_list=_json(decision.join_list),
        links=_json(sorted(decision.link.items())),
        contacts_all_new=contacts_all_new,
        creates_only=contacts_all_new and all(key in decision.created for key in decision.link.values()),
        claims=_claims_kept_in_rows(decision, on_contacts, set()),
        reclaims=_json(_claim_rows(decision.reclaims)),
    )


def _json(value: Any) -> orjson.Fragment:
    """A bulk parameter encoded now: the connection's jsonb codec passes a fragment on as it is."""
    return orjson.Fragment(orjson.dumps(value))


async def apply(
    conn: Connection,
    writes: Writes,
    *,
    list_id: int,
    batch: RecordBatch,
    recorded: Callable[[set[str]], BatchImported],
    plainly: bool = True,
) -> BatchImported:
    """Write ``batch``'s decision and record the batch with its event, which is ``writes.event``, or
    ``recorded(lost)`` when some keys decided ``new`` were created by another transaction first
    (``lost``: counted ``duplicate``, their claims kept in rows). Returns that event.

    Memberships of the target list are only ever written under the list's lock (a run has one list),
    so they are plain inserts: a conflict there would be a bug, not a race. Contacts and record links
    are shared with other lists' batches, hence their ON CONFLICT clauses. But ``plainly``, the contacts
    are a plain insert when every contact the batch writes was decided ``new``
    (``Writes.contacts_all_new``), and so are the links when moreover every link is to such a contact
    (``Writes.creates_only``: a first import's batches): the upsert costs half as much again
    (docs/adr/0031). A contact another list's batch created
    meanwhile, or a link the record already had (its email changed), then raises
    ``asyncpg.UniqueViolationError`` on ``CONTACTS_KEY`` or ``LINKS_KEY``, and the caller applies the
    batch again with ``plainly=False`` (``handlers._decide_and_apply``). A run's claims are replaced
    when a more recent record takes an email over (``claims.py``).
    """
    decision = writes.decision
    sync_id, run_id, seq, module = batch.sync_id, batch.run_id, batch.seq, batch.module
    settings_version = batch.settings.settings_version
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
    lost = await _write_contacts(conn, writes, run_id, seq, plainly) if decision.contacts else set()
    if lost:  # (rare) the claims on the contacts another transaction created need rows
        event = recorded(lost)
        encoded = stored_json(event)
        claims = _claims_kept_in_rows(decision, _claims_on_created_contacts(decision), lost)
    else:  # (made when the batch read ahead: it occurs now)
        event = writes.event.model_copy(update={"occurred_at": utc_now()})
        encoded, claims = writes.encoded, writes.claims
    # one statement, one round trip, for the rest and the batch's record: only record links can meet
    # another list's batch (contacts are written and locked by now, in the order every batch uses)
    await conn.execute(
        _REST_NEW_LINKS if plainly and writes.creates_only else _REST,
        list_id,
        sync_id,
        settings_version,
        writes.join_list,
        module,
        writes.links,
        run_id,
        seq,
        claims,
        writes.reclaims,
        *stored_batch(event, encoded),
    )
    return event


def _claims_kept_in_rows(decision: Decision, on_contacts: Container[str], lost: set[str]) -> orjson.Fragment:
    """The claims ``run_emails`` keeps: all but those the inserted contacts hold (``on_contacts``); a
    contact decided ``new`` that another list's batch created first (``lost``) was updated, not
    inserted, so its claim needs a row."""
    rows = [claim for claim in decision.claims if claim[0] not in on_contacts or claim[0] in lost]
    return _json(_claim_rows(rows, _found_documents(decision, lost)) if rows else [])


def _claim_rows(
    claims: Sequence[ClaimRow], found: dict[str, dict[str, Any]] | None = None
) -> list[tuple[Any, ...]]:
    """Claims as stored: a contact the run created is a flag (the common case, kept cheap), any other
    prior a JSON document; ``found``: the facts of newly claimed emails (a new claim left out of it
    found nothing, unless it created its contact; a takeover keeps the facts of the first claim)."""
    rows = []
    for key, record_id, modified_at, position, deletion, prior in claims:
        created = prior is CREATED or prior == CREATED  # (identity: the common case, quickly)
        document = prior_to_json(prior) if prior is not None and not created else None
        row: tuple[Any, ...] = (key, record_id, modified_at, position, deletion, created, document)
        if found is not None:
            row += (found.get(key, None if created else NOTHING_FOUND),)
        rows.append(row)
    return rows


def _found_documents(decision: Decision, lost: set[str]) -> dict[str, dict[str, Any]]:
    """The facts each newly claimed email had; for a contact decided ``new`` that another list's batch
    created first (``lost``, counted ``duplicate``), a contact on no list of this run's: the facts the
    outcome was decided on in the end."""
    documents = {key: found_to_json(*facts) for key, facts in decision.found.items()}
    if lost:
        for key, email, first_name, last_name, fields in decision.contacts:
            if key in lost:
                contact = {"email": email, "first_name": first_name, "last_name": last_name}
                documents[key] = {
                    "contact": {**contact, "fields": fields, "deleted": False, "membership": None}
                }
    return documents


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


def _claims_on_created_contacts(decision: Decision) -> dict[str, tuple[str, datetime | None, int]]:
    """The run's first claims on the emails whose contacts this batch creates: email key -> (record id,
    modified at, position). The contact's insert keeps them (importer migration 0009, docs/adr/0028)."""
    return {
        key: (record_id, modified_at, position)
        for key, record_id, modified_at, position, deletion, prior in decision.claims
        if prior is CREATED and not deletion and key in decision.created
    }


# The contact rows as ``prepare`` encodes them: the ones inserted keep the run's claim on them.
_CONTACTS = """
INSERT INTO contacts AS c (email_key, email, first_name, last_name, fields, created_run,
                           created_record_id, created_modified_at, created_seq, created_position)
SELECT r->>0, r->>1, r->>2, r->>3, r->4, CASE WHEN r->>5 IS NOT NULL THEN $1 END,
       r->>5, (r->>6)::timestamptz, CASE WHEN r->>5 IS NOT NULL THEN $2::integer END, (r->>7)::integer
  FROM jsonb_array_elements($3::jsonb) AS r
"""
# What an INSERT ... ON CONFLICT costs beyond a plain INSERT, per row: a probe of the key before the
# insert, a speculative index entry, then a second WAL record to confirm it. 200,000 new contacts took
# 2.0 s plainly and 3.0 s as an upsert here (docs/adr/0031).
_CONTACTS_UPSERT = f"""
WITH written AS ({_CONTACTS}
    ON CONFLICT (email_key) DO UPDATE
       SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
           fields = c.fields || EXCLUDED.fields, deleted_at = NULL, updated_at = now()
    RETURNING email_key, xmax = 0 AS inserted
)
SELECT email_key FROM written
 WHERE NOT inserted AND email_key IN (SELECT jsonb_array_elements_text($4::jsonb))
"""
CONTACTS_KEY: Final = "contacts_pkey"
LINKS_KEY: Final = "record_links_pkey"


async def _write_contacts(conn: Connection, writes: Writes, run_id: str, seq: int, plainly: bool) -> set[str]:
    """Insert or update the contacts. Returns the keys decided ``new`` that another transaction created
    first (``plainly``, when all are new: raises on ``CONTACTS_KEY`` instead)."""
    if plainly and writes.contacts_all_new:
        await conn.execute(_CONTACTS, run_id, seq, writes.contacts)
        return set()
    rows = await conn.fetch(_CONTACTS_UPSERT, run_id, seq, writes.contacts, writes.created)
    return {r["email_key"] for r in rows}
