"""One function per message and RPC operation; ``app.py`` wires them to the broker.

A record travels one way: ``import_batch`` parses the batch (``parse.py``), reads the facts about its
emails (``store/facts.py``), decides (``decide.py``) and applies the decision (``store/writes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

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
from recruit_sync.importer.ahead import ReadAhead, Turn, Verdict, list_verdict, marks
from recruit_sync.importer.decide import Decision, decide, deciding
from recruit_sync.importer.email_rules import classify_email
from recruit_sync.importer.facts import Facts
from recruit_sync.importer.parse import MalformedRecord, ParsedRecord, read_records, records_to_look_up
from recruit_sync.importer.store import Connection, lists, suppressions
from recruit_sync.importer.store.batches import imported_batch
from recruit_sync.importer.store.facts import read_facts, read_facts_ahead, stamps_now
from recruit_sync.importer.store.writes import CONTACTS_KEY, LINKS_KEY, Writes, apply, prepare
from recruit_sync.runtime import metrics
from recruit_sync.runtime.rpc import RpcError

log = structlog.get_logger()

PARSE_SLICE = 100  # records parsed between two yields to the event loop (about half a millisecond)


@dataclass(eq=False)
class _List:
    reading: asyncio.Lock = field(default_factory=asyncio.Lock)  # one batch reads ahead at a time
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    holder: Turn | None = None  # the batch holding the turn
    users: int = 0


class ListTurns:
    """Batches of one list take turns in this process before they take a database connection: the
    list's lock (``store/lists.py``) lets one at a time through anyway, and those waiting for it in
    PostgreSQL would each hold a connection and a delivery, leaving batches of other lists (other
    syncs, small ones beside a backfill) nothing to run on. asyncio's locks are FIFO: a list's batches
    go in the order they arrived. (Across importer processes, the list's lock still decides.)

    While a batch holds the turn, the next one may read ahead (``ahead``: docs/adr/0025), told which
    batch holds the turn meanwhile; the one after waits until that one has the turn."""

    def __init__(self) -> None:
        self._lists: dict[str, _List] = {}

    @contextlib.asynccontextmanager
    async def turn(
        self, list_name: str, ahead: Callable[[Turn | None], Awaitable[None]] | None = None
    ) -> AsyncIterator[Turn]:
        state = self._lists.setdefault(list_name, _List())
        state.users += 1
        try:
            mine = Turn()
            async with state.reading:
                if ahead is not None:
                    await ahead(state.holder)
                await state.turn.acquire()
                state.holder = mine
            try:
                yield mine
            finally:
                state.holder = None
                state.turn.release()
        finally:
            state.users -= 1
            if not state.users:  # the last user forgets the list: no locks per list ever seen
                del self._lists[list_name]

    def __len__(self) -> int:
        return len(self._lists)


LIST_TURNS = ListTurns()


async def import_batch(
    pool: asyncpg.Pool, batch: RecordBatch, turns: ListTurns = LIST_TURNS
) -> BatchImported:
    """Apply one batch in one transaction and return the BatchImported to publish.

    A batch already imported (a redelivery) changes nothing and yields the event recorded then, so the
    republished event carries the same id and content.
    """
    parsed: list[ParsedRecord | MalformedRecord] = []
    ahead: ReadAhead | None = None
    prepared: Writes | None = None

    async def read_ahead(before: Turn | None) -> None:
        # next in line: parsed now, while the batch before it imports, and not while it waits further
        # back (a parsed record holds half as much again as the decoded one: docs/adr/0026)
        nonlocal parsed, ahead, prepared
        parsed = await parse_batch(batch)
        if not batch.deleted:  # (deletions read other lists' memberships: they read under the lock)
            ahead = await _read_ahead(pool, batch, parsed, before)
            prepared = prepare(ahead.decision, _event(batch, ahead.decision))

    async with turns.turn(batch.settings.list_name, read_ahead) as turn, pool.acquire() as conn:
        event, first_time = await _decide_and_apply(conn, batch, parsed, turn, ahead, prepared)
    if first_time:  # committed: count its outcomes once (a redelivery's republish is not counted)
        metrics.count_outcomes(batch.sync_id, event.outcomes.counted())
    log.info("batch imported", seq=batch.seq, records=len(batch.records), deleted=len(batch.deleted))
    return event


async def decide_and_apply(
    conn: Connection, batch: RecordBatch, parsed: list[ParsedRecord | MalformedRecord]
) -> BatchImported:
    """The batch's transaction, on ``conn``: the live store, or a scratch copy (``scratch_runs``)."""
    event, _ = await _decide_and_apply(conn, batch, parsed, Turn(), None, None)
    return event


async def _read_ahead(
    pool: asyncpg.Pool, batch: RecordBatch, parsed: list[ParsedRecord | MalformedRecord], before: Turn | None
) -> ReadAhead:
    """The batch's facts and decision, read while ``before`` (if any) holds the list's turn."""
    records = records_to_look_up(parsed)
    async with pool.acquire() as conn:
        list_id = await lists.ensure_list(conn, batch.settings.list_name)
        async with conn.transaction(isolation="repeatable_read", readonly=True):  # one snapshot for both
            version = await lists.version_of(conn, list_id)
            facts, stamps = await read_facts_ahead(
                conn, list_id=list_id, run_id=batch.run_id, module=batch.module, records=records
            )
    decision = await _decide_in_slices(batch, parsed, facts)  # (the connection back in the pool)
    keys, record_ids = marks(facts, records, ())
    return ReadAhead(list_id, version, before, stamps, decision, keys, record_ids)


async def _decide_in_slices(
    batch: RecordBatch, parsed: list[ParsedRecord | MalformedRecord], facts: Facts
) -> Decision:
    """``decide``, yielding to the event loop between slices: deciding a whole batch in one go would
    hold up the batch holding the list's turn at each of its round trips for as long as it takes."""
    for step in deciding(parsed, batch.deleted, sync_id=batch.sync_id, settings=batch.settings, facts=facts):
        if step is not None:
            return step
        await asyncio.sleep(0)
    raise AssertionError("deciding yields the decision last")


# the keys a batch's plain inserts may meet (``writes.apply``): the batch is then applied with upserts
PLAIN_KEYS = frozenset({CONTACTS_KEY, LINKS_KEY})


class _ImportedBefore(Exception):
    """Rolls a batch's transaction back: the batch had been imported already (its list's version, just
    advanced, goes back with it)."""


async def _decide_and_apply(
    conn: Connection,
    batch: RecordBatch,
    parsed: list[ParsedRecord | MalformedRecord],
    turn: Turn,
    ahead: ReadAhead | None,
    prepared: Writes | None,
) -> tuple[BatchImported, bool]:
    """``decide_and_apply``, and whether the batch was applied now (False: it had been already).
    ``ahead``: the facts and decision read ahead, used if they still hold, else read again;
    ``prepared``: its writes."""
    try:
        try:
            return await _apply_in_turn(conn, batch, parsed, turn, ahead, prepared), True
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name not in PLAIN_KEYS:
                raise
            # inserted plainly, a contact decided ``new`` met one another list's batch (or another
            # process's import of this batch) created meanwhile, or a link met the one its record had:
            # all rolled back, applied again with the upserts (a contact created meanwhile: ``duplicate``)
            log.info(
                "a plain insert met an existing row, applying the batch again",
                seq=batch.seq,
                key=exc.constraint_name,
            )
            return await _apply_in_turn(conn, batch, parsed, turn, ahead, prepared, plainly=False), True
    except (_ImportedBefore, asyncpg.UniqueViolationError):
        # a unique violation may be a redelivery imported by another process meanwhile, which
        # ``take_turn`` could not see: the batch's own record tells; without one, it is a bug
        done = await imported_batch(conn, batch.run_id, batch.seq)
        if done is None:
            raise
    log.info("batch already imported, republishing", seq=batch.seq)
    return done, False


async def _apply_in_turn(
    conn: Connection,
    batch: RecordBatch,
    parsed: list[ParsedRecord | MalformedRecord],
    turn: Turn,
    ahead: ReadAhead | None,
    prepared: Writes | None,
    plainly: bool = True,
) -> BatchImported:
    settings = batch.settings
    async with conn.transaction():
        # the list's own row first (created on first use): no other batch's facts, so outside the lock
        list_id = ahead.list_id if ahead else await lists.ensure_list(conn, settings.list_name)
        found = await lists.take_turn(conn, list_id, settings.list_name, turn.writer, batch.run_id, batch.seq)
        if found.imported:
            raise _ImportedBefore
        decision = await _ahead_if_it_holds(conn, ahead, found.version, found.writer)
        if decision is None:
            records = records_to_look_up(parsed)
            deleted_ids = [d.id for d in batch.deleted]
            facts = await read_facts(
                conn,
                list_id=list_id,
                run_id=batch.run_id,
                module=batch.module,
                records=records,
                deleted_ids=deleted_ids,
                other_lists=settings.options.on_recruit_delete is OnRecruitDelete.REMOVE_FROM_ORG,
            )
            decision = decide(parsed, batch.deleted, sync_id=batch.sync_id, settings=settings, facts=facts)
            turn.keys, turn.record_ids = marks(facts, records, deleted_ids)
            writes = prepare(decision, _event(batch, decision))
        else:
            assert ahead is not None and prepared is not None
            turn.keys, turn.record_ids = ahead.keys, ahead.record_ids
            writes = prepared
        recorded = partial(_event, batch, decision)
        return await apply(conn, writes, list_id=list_id, batch=batch, recorded=recorded, plainly=plainly)


def _event(batch: RecordBatch, decision: Decision, created_elsewhere: Iterable[str] = ()) -> BatchImported:
    """The batch's BatchImported; ``created_elsewhere``: keys decided ``new`` whose contacts another
    transaction created first (counted ``duplicate``)."""
    return BatchImported(
        event_id=batch_imported_id(batch.run_id, batch.seq),
        **caused_by(batch),
        seq=batch.seq,
        outcomes=decision.counted_as_existing(created_elsewhere),
        superseded=decision.superseded,
    )


async def _ahead_if_it_holds(
    conn: Connection, ahead: ReadAhead | None, previous_version: int, previous_writer: uuid.UUID | None
) -> Decision | None:
    """The decision read ahead if it still holds (``ahead.py``), its contacts now row-locked; else None."""
    if ahead is None:
        return None
    verdict = list_verdict(ahead, previous_version, previous_writer)
    if verdict is Verdict.HOLDS and await stamps_now(conn, ahead.list_id, list(ahead.stamps)) != ahead.stamps:
        verdict = Verdict.CONTACTS_CHANGED
    metrics.READ_AHEAD.labels(verdict=verdict.value).inc()
    if verdict is not Verdict.HOLDS:
        log.info("facts read ahead no longer hold, reading them again", verdict=verdict.value)
        return None
    return ahead.decision


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
