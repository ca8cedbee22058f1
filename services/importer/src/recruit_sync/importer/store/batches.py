"""Batches already imported: written in the same transaction as a batch's effects, so a redelivered
batch changes nothing and republishes the BatchImported it produced, unchanged (same id, same content)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from pydantic import TypeAdapter

from recruit_sync.contracts.events import BatchImported, Outcomes, RecordOutcome, Superseded
from recruit_sync.importer.store import Connection


async def imported_batch(conn: Connection, run_id: str, seq: int) -> BatchImported | None:
    """The BatchImported this batch produced when it was imported before, exactly as published then."""
    row = await conn.fetchrow(
        "SELECT sync_id, event_id, causation_id, occurred_at, outcomes, superseded FROM imported_batches "
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
        outcomes=stored_outcomes(row),
        superseded=stored_supersessions(row),
    )


_OUTCOMES: TypeAdapter[list[RecordOutcome]] = TypeAdapter(list[RecordOutcome])
_SUPERSEDED: TypeAdapter[list[Superseded]] = TypeAdapter(list[Superseded])


def stored_outcomes(row: asyncpg.Record) -> Outcomes:
    """A stored batch's outcomes (``row["outcomes"]``), as its event had them."""
    return Outcomes.of(_OUTCOMES.validate_json(row["outcomes"]))


def stored_supersessions(row: asyncpg.Record) -> list[Superseded]:
    return _SUPERSEDED.validate_json(row["superseded"])


def stored_batch(event: BatchImported, encoded: tuple[bytes, bytes]) -> tuple[Any, ...]:
    """What ``imported_batches`` keeps of a batch's event (``writes.apply`` inserts it with the batch's
    other writes): sync id, event id, causation id, time, and its outcomes and supersessions as JSON
    bytes (``encoded``: ``stored_json(event)``, made ahead), stored as they are (``bytea``, migration
    0008)."""
    outcomes, superseded = encoded
    return (event.sync_id, event.event_id, event.causation_id, event.occurred_at, outcomes, superseded)


def stored_json(event: BatchImported) -> tuple[bytes, bytes]:
    """The event's outcomes and supersessions as stored: the outcomes as an array of objects, the form
    every importer version reads (a redelivery may reach an older one during an upgrade)."""
    return orjson.dumps(event.outcomes.as_objects()), _SUPERSEDED.dump_json(event.superseded)
