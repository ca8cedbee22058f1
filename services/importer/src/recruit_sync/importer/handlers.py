"""One function per message and RPC operation; ``app.py`` wires them to the broker.

A record travels one way: ``import_batch`` parses the batch (``parse.py``), reads the facts about its
emails (``store/facts.py``), decides (``decide.py``) and applies the decision (``store/writes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import structlog

from recruit_sync.addresses import key_of_normalised
from recruit_sync.contracts.events import BatchImported, IgnoreReason, RecordBatch, caused_by
from recruit_sync.contracts.ids import batch_imported_id
from recruit_sync.contracts.resources import (
    ListInfo,
    ListRef,
    Member,
    NoArguments,
    Suppress,
    Suppressed,
    Suppression,
    SuppressionsQuery,
    Unsuppress,
    Unsuppressed,
)
from recruit_sync.contracts.sync_spec import OnRecruitDelete
from recruit_sync.importer.decide import decide
from recruit_sync.importer.email_rules import classify_email
from recruit_sync.importer.parse import MalformedRecord, ParsedRecord, read_records, records_to_look_up
from recruit_sync.importer.store import Connection, lists, suppressions
from recruit_sync.importer.store.batches import imported_batch
from recruit_sync.importer.store.facts import read_facts
from recruit_sync.importer.store.writes import apply
from recruit_sync.runtime import metrics
from recruit_sync.runtime.rpc import RpcError

log = structlog.get_logger()

PARSE_SLICE = 100  # records parsed between two yields to the event loop (about half a millisecond)


class ListTurns:
    """Batches of one list take turns in this process before they take a database connection: the
    list's lock (``store/lists.py``) lets one at a time through anyway, and those waiting for it in
    PostgreSQL would each hold a connection and a delivery, leaving batches of other lists (other
    syncs, small ones beside a backfill) nothing to run on. asyncio's lock is FIFO: a list's batches
    go in the order they arrived. (Across importer processes, the list's lock still decides.)"""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, list_name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(list_name, asyncio.Lock())
        self._users[list_name] = self._users.get(list_name, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[list_name] -= 1
            if not self._users[list_name]:  # the last user forgets the list: no lock per list ever seen
                del self._users[list_name], self._locks[list_name]

    def __len__(self) -> int:
        return len(self._locks)


LIST_TURNS = ListTurns()


async def import_batch(
    pool: asyncpg.Pool, batch: RecordBatch, turns: ListTurns = LIST_TURNS
) -> BatchImported:
    """Apply one batch in one transaction and return the BatchImported to publish.

    A batch already imported (a redelivery) changes nothing and yields the event recorded then, so the
    republished event carries the same id and content.
    """
    parsed = await parse_batch(batch)  # before its turn: while earlier batches of its list import
    async with turns.turn(batch.settings.list_name), pool.acquire() as conn:
        event, first_time = await _decide_and_apply(conn, batch, parsed)
    if first_time:  # committed: count its outcomes once (a redelivery's republish is not counted)
        metrics.count_outcomes(batch.sync_id, event.outcomes)
    log.info("batch imported", seq=batch.seq, records=len(batch.records), deleted=len(batch.deleted))
    return event


async def decide_and_apply(
    conn: Connection, batch: RecordBatch, parsed: list[ParsedRecord | MalformedRecord]
) -> BatchImported:
    """The batch's transaction, on ``conn``: the live store, or a scratch copy (``scratch_runs``)."""
    event, _ = await _decide_and_apply(conn, batch, parsed)
    return event


async def _decide_and_apply(
    conn: Connection, batch: RecordBatch, parsed: list[ParsedRecord | MalformedRecord]
) -> tuple[BatchImported, bool]:
    """``decide_and_apply``, and whether the batch was applied now (False: it had been already)."""
    settings = batch.settings
    async with conn.transaction():
        # the list's own row first (created on first use): no other batch's facts, so outside the lock
        list_id = await lists.ensure_list(conn, settings.list_name)
        await lists.lock_list(conn, settings.list_name)
        done = await imported_batch(conn, batch.run_id, batch.seq)
        if done is not None:
            log.info("batch already imported, republishing", seq=batch.seq)
            return done, False
        facts = await read_facts(
            conn,
            list_id=list_id,
            run_id=batch.run_id,
            module=batch.module,
            records=records_to_look_up(parsed),
            deleted_ids=[d.id for d in batch.deleted],
            other_lists=settings.options.on_recruit_delete is OnRecruitDelete.REMOVE_FROM_ORG,
        )
        decision = decide(parsed, batch.deleted, sync_id=batch.sync_id, settings=settings, facts=facts)

        def recorded(created_elsewhere: set[str]) -> BatchImported:
            return BatchImported(
                event_id=batch_imported_id(batch.run_id, batch.seq),
                **caused_by(batch),
                seq=batch.seq,
                outcomes=decision.counted_as_existing(created_elsewhere),
                superseded=decision.superseded,
            )

        event = await apply(conn, decision, list_id=list_id, batch=batch, recorded=recorded)
    return event, True


async def parse_batch(batch: RecordBatch) -> list[ParsedRecord | MalformedRecord]:
    """Parse the records before taking the list's lock, in slices: batches of one list run one at a
    time, and a batch parsing in one go would hold up the event loop, and so the batch holding the
    lock, for as long as the whole parse takes."""
    parsed: list[ParsedRecord | MalformedRecord] = []
    for start in range(0, len(batch.records), PARSE_SLICE):
        parsed += read_records(batch.records[start : start + PARSE_SLICE], batch.settings, batch.module)
        await asyncio.sleep(0)
    return parsed


# ------------------------------------------------------------------------------------ RPC operations


async def list_members(pool: asyncpg.Pool, request: ListRef) -> list[Member]:
    async with pool.acquire() as conn:
        members = await lists.list_members(conn, request.list)
    if members is None:
        raise RpcError(f"no mailing list named {request.list!r}", 404)
    return members


async def list_all(pool: asyncpg.Pool, request: NoArguments) -> list[ListInfo]:
    async with pool.acquire() as conn:
        return await lists.all_lists(conn)


async def suppress_add(pool: asyncpg.Pool, request: Suppress) -> Suppressed:
    valid, invalid = _addresses(request.emails)
    added = 0
    if valid:
        async with pool.acquire() as conn:
            added = await suppressions.add_suppressions(conn, request.reason, valid)
    return Suppressed(added=added, invalid=invalid)


async def suppress_remove(pool: asyncpg.Pool, request: Unsuppress) -> Unsuppressed:
    valid, invalid = _addresses(request.emails)
    removed = 0
    if valid:
        async with pool.acquire() as conn:
            removed = await suppressions.remove_suppressions(conn, [key for key, _ in valid])
    return Unsuppressed(removed=removed, invalid=invalid)


async def suppress_list(pool: asyncpg.Pool, request: SuppressionsQuery) -> list[Suppression]:
    async with pool.acquire() as conn:
        return await suppressions.list_suppressions(conn, request.reason)


def _addresses(emails: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """((email key, normalised address) of the entries that are addresses, the entries that are not).

    The key is the contact's (``recruit_sync.addresses``), so a suppression finds its contact. A role
    address is still an address: it can be suppressed (imports ignore it earlier anyway).
    """
    valid: list[tuple[str, str]] = []
    invalid: list[str] = []
    for entry in emails:
        normalised, reason = classify_email(entry)
        if normalised is None or reason is IgnoreReason.INVALID_PATTERN:
            invalid.append(entry)
        else:
            valid.append((key_of_normalised(normalised), normalised))
    return valid, invalid
