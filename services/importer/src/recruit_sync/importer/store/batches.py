"""Batches already imported: written in the same transaction as a batch's effects, so a redelivered
batch changes nothing and republishes the BatchImported it produced, unchanged (same id, same content)."""

from __future__ import annotations

from typing import Any

import asyncpg
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


_OUTCOMES_V2: TypeAdapter[list[RecordOutcome]] = TypeAdapter(list[RecordOutcome])
_SUPERSEDED: TypeAdapter[list[Superseded]] = TypeAdapter(list[Superseded])


def stored_outcomes(row: asyncpg.Record) -> Outcomes:
    """A stored batch's outcomes (``row["outcomes"]``), as its event had them: columns (``Outcomes``), or
    from a batch stored before BatchImported version 3, a JSON array of outcome objects."""
    data: bytes = row["outcomes"]
    if data[:1] == b"[":
        return Outcomes.of(_OUTCOMES_V2.validate_json(data))
    return Outcomes.model_validate_json(data)


def stored_supersessions(row: asyncpg.Record) -> list[Superseded]:
    return _SUPERSEDED.validate_json(row["superseded"])


def stored_batch(event: BatchImported) -> tuple[Any, ...]:
    """What ``imported_batches`` keeps of a batch's event (``writes.apply`` inserts it with the batch's
    other writes): sync id, event id, causation id, time, outcomes and supersessions, the last two as
    JSON bytes made by pydantic-core, stored as they are (``bytea``, migration 0008)."""
    return (
        event.sync_id,
        event.event_id,
        event.causation_id,
        event.occurred_at,
        event.outcomes.__pydantic_serializer__.to_json(event.outcomes),
        _SUPERSEDED.dump_json(event.superseded),
    )
