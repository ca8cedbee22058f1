"""A run's per-record outcomes, one row per batch (``batch_outcomes``, migration 0009, docs/adr/0025).

A batch's row keeps its outcomes as a JSON array of ``RecordOutcome`` objects (the importer sends them
as columns, ``BatchImported`` version 3; the position in the array is the record's position in its
batch, so (seq, position) is the order the fetcher saw the records in) and a Bloom filter of their
email keys (``recruit_sync.addresses.email_key``) for ``explain``. A row per batch instead of a row per
record: a thousand rows and two index entries each cost PostgreSQL eight times the CPU of one row, and
history's own encoding more again.

Displacements rewrite the element they name: a file duplicate becomes ignored ``file_duplicate``; a
void deletion becomes ``null`` (it is no outcome any more, and the positions of the others stay).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import orjson
from pydantic import TypeAdapter

from recruit_sync.addresses import email_key
from recruit_sync.contracts.counts import Counted
from recruit_sync.contracts.events import BatchImported, Displacement, IgnoreReason, Outcome, RecordOutcome
from recruit_sync.history.store import Conn
from recruit_sync.history.store.batches import Target

_OUTCOMES: TypeAdapter[list[RecordOutcome]] = TypeAdapter(list[RecordOutcome])

# Bloom filter: 10 bits and 5 probes per key, about 1% false positives (a false positive only costs
# explain the reading of one more batch). Probe i of a key is at (h1 + i * h2) mod m, with h1 and h2 two
# CRC-32s of the key (CRC-32 is in C and stable across processes; nobody gains by colliding keys here):
# ``bloom`` sets them in Python, ``outcomes_for_email`` tests them in SQL with the same arithmetic.
BITS_PER_KEY = 10
PROBES = 5  # (``bloom`` sets five, unrolled: change both together)


def probes(key: str) -> tuple[int, int]:
    data = key.encode()
    return zlib.crc32(data), zlib.crc32(data, 0x9E3779B9) | 1


def bloom(keys: Iterable[str]) -> bytes:
    """The filter of ``keys``: bit p is bit p % 8 of byte p // 8, as PostgreSQL's ``get_bit`` reads it."""
    distinct = set(keys)
    bits = max(64, -(-len(distinct) * BITS_PER_KEY // 8) * 8)
    filter_ = bytearray(bits // 8)
    for key in distinct:
        h1, h2 = probes(key)
        # the PROBES probes, unrolled: a loop doubles the time (a thousand keys: 1 ms against 2)
        p = h1 % bits
        filter_[p >> 3] |= 1 << (p & 7)
        h1 += h2
        p = h1 % bits
        filter_[p >> 3] |= 1 << (p & 7)
        h1 += h2
        p = h1 % bits
        filter_[p >> 3] |= 1 << (p & 7)
        h1 += h2
        p = h1 % bits
        filter_[p >> 3] |= 1 << (p & 7)
        h1 += h2
        p = h1 % bits
        filter_[p >> 3] |= 1 << (p & 7)
    return bytes(filter_)


@dataclass(frozen=True)
class StoredBatch:
    """A batch's row, ready to insert (built before the caller takes the run's lock)."""

    outcomes: bytes
    emails: bytes


def stored_batch(batch: BatchImported) -> StoredBatch:
    """The batch's row: its outcomes as a JSON array of ``RecordOutcome`` objects (what history has always
    stored: columns are the event's form, not the store's), and the filter of their email keys."""
    keys = (email_key(email) for email in batch.outcomes.email if email is not None)
    return StoredBatch(
        orjson.dumps(batch.outcomes.as_objects()), bloom(key for key in keys if key is not None)
    )


async def store_outcomes(conn: Conn, batch: BatchImported, stored: StoredBatch) -> None:
    await conn.execute(
        "INSERT INTO batch_outcomes (run_id, seq, at, outcomes, emails) VALUES ($1, $2, $3, $4, $5)",
        batch.run_id,
        batch.seq,
        batch.occurred_at,
        stored.outcomes,
        stored.emails,
    )


_FILE_DUPLICATE = {
    "outcome": Outcome.IGNORED.value,
    "reason": IgnoreReason.FILE_DUPLICATE.value,
    "problem": None,
}


def _counted(item: dict[str, Any]) -> Counted:
    return Outcome(item["outcome"]), IgnoreReason(item["reason"]) if item["reason"] else None


async def displace(conn: Conn, run_id: str, targets: Sequence[Target]) -> list[tuple[Counted, Displacement]]:
    """Apply supersessions to the run's stored outcomes: a file duplicate becomes ignored
    ``file_duplicate``, a void deletion ``null``. Returns each changed outcome as it was counted and what
    it became (an outcome not found, or already void, changes nothing)."""
    if not targets:
        return []
    changed: list[tuple[Counted, Displacement]] = []
    ordered = sorted(targets)
    rows = await conn.fetch(
        "SELECT seq, outcomes FROM batch_outcomes WHERE run_id = $1 AND seq = ANY($2::int[]) "
        "ORDER BY seq FOR UPDATE",
        run_id,
        sorted({target.seq for target in ordered}),
    )
    by_seq = {seq: list(group) for seq, group in groupby(ordered, key=lambda target: target.seq)}
    for row in rows:
        items = orjson.loads(row["outcomes"])
        for target in by_seq[row["seq"]]:
            was = items[target.position] if 0 <= target.position < len(items) else None
            if was is None:
                continue
            changed.append((_counted(was), target.becomes))
            if target.becomes is Displacement.FILE_DUPLICATE:
                items[target.position] = {**was, **_FILE_DUPLICATE}
            else:
                items[target.position] = None
        await conn.execute(
            "UPDATE batch_outcomes SET outcomes = $3 WHERE run_id = $1 AND seq = $2",
            run_id,
            row["seq"],
            orjson.dumps(items),
        )
    return changed


async def run_records(
    conn: Conn, run_id: str, outcome: Outcome | None, limit: int | None, offset: int
) -> list[RecordOutcome]:
    """The run's outcomes in (seq, position) order, those of ``outcome`` only if given, paged. Batches
    are read in order and only as far as the page goes."""
    wanted = outcome.value if outcome is not None else None
    found: list[dict[str, Any]] = []
    skip = offset
    async with conn.transaction():  # (a cursor lives in a transaction)
        cursor = conn.cursor(
            "SELECT outcomes FROM batch_outcomes WHERE run_id = $1 ORDER BY seq", run_id, prefetch=4
        )
        async for row in cursor:
            for item in orjson.loads(row["outcomes"]):
                if item is None or (wanted is not None and item["outcome"] != wanted):
                    continue
                if skip:
                    skip -= 1
                    continue
                found.append(item)
                if limit is not None and len(found) >= limit:
                    return _OUTCOMES.validate_python(found)
    return _OUTCOMES.validate_python(found)


@dataclass(frozen=True)
class EmailOutcome:
    run_id: str
    sync_id: str
    at: datetime
    outcome: RecordOutcome


async def outcomes_for_email(conn: Conn, email: str) -> list[EmailOutcome]:
    """Every outcome stored for the address, whatever its case or the form of its domain, newest first.
    The batches whose filter may hold its key are read (a batch stored before migration 0009 has no
    filter and is always read), and their outcomes of that key kept."""
    key = email_key(email)
    if key is None:
        return []
    h1, h2 = probes(key)
    rows = await conn.fetch(
        """
        SELECT b.run_id, coalesce(r.sync_id, '') AS sync_id, b.at, b.seq, b.outcomes
          FROM batch_outcomes b JOIN runs r USING (run_id)
         WHERE b.emails IS NULL OR NOT EXISTS (
               SELECT FROM generate_series(0, $3 - 1) AS i
                WHERE get_bit(b.emails, (($1::bigint + i * $2::bigint) % (8 * length(b.emails)))::integer) = 0
               )
        """,
        h1,
        h2,
        PROBES,
    )
    found: list[tuple[tuple[Any, ...], EmailOutcome]] = []
    for row in rows:
        for position, item in enumerate(orjson.loads(row["outcomes"])):
            if item is not None and item["email"] is not None and email_key(item["email"]) == key:
                order = (-row["at"].timestamp(), row["run_id"], row["seq"], position)
                outcome = RecordOutcome.model_validate(item)
                found.append((order, EmailOutcome(row["run_id"], row["sync_id"], row["at"], outcome)))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]
