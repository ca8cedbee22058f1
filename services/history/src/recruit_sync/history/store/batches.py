"""The batches of a run history has received, and the supersessions waiting for a batch still to come.

A ``BatchImported`` may name (``superseded``) an outcome of a batch that has not reached history yet:
batches come in any order. Every supersession is first kept here, then taken out and applied as soon as
the batch it names is in (``take_due``), which is either now or when that batch arrives.
"""

from __future__ import annotations

from typing import NamedTuple

from recruit_sync.contracts.events import BatchImported, Displacement
from recruit_sync.history.store import Conn


class Target(NamedTuple):
    """An earlier outcome of the run, (seq, position), and what it becomes."""

    seq: int
    position: int
    becomes: Displacement


async def claim_batch(conn: Conn, run_id: str, seq: int, record_count: int) -> bool:
    """True the first time batch (run_id, seq) arrives, whatever event carried it."""
    inserted = await conn.fetchval(
        "INSERT INTO run_batches (run_id, seq, record_count) VALUES ($1, $2, $3) "
        "ON CONFLICT (run_id, seq) DO NOTHING RETURNING true",
        run_id,
        seq,
        record_count,
    )
    return bool(inserted)


async def keep_supersessions(conn: Conn, batch: BatchImported) -> None:
    """Keep what ``batch`` displaces until the batches it names are in (``take_due``). The importer
    names an outcome once; a repeat while the first still waits is ignored."""
    if not batch.superseded:
        return
    await conn.execute(
        """
        INSERT INTO superseded (run_id, seq, position, becomes)
        SELECT $1, * FROM unnest($2::int[], $3::int[], $4::text[])
        ON CONFLICT (run_id, seq, position) DO NOTHING
        """,
        batch.run_id,
        [item.seq for item in batch.superseded],
        [item.position for item in batch.superseded],
        [item.becomes.value for item in batch.superseded],
    )


async def take_due(conn: Conn, run_id: str) -> list[Target]:
    """The run's kept supersessions whose batch is in, removed: the caller applies them now."""
    rows = await conn.fetch(
        """
        DELETE FROM superseded s USING run_batches b
         WHERE s.run_id = $1 AND b.run_id = s.run_id AND b.seq = s.seq
        RETURNING s.seq, s.position, s.becomes
        """,
        run_id,
    )
    return [Target(row["seq"], row["position"], Displacement(row["becomes"])) for row in rows]
