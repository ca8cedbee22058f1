"""One row per record outcome, written with COPY; (seq, position) is the order the fetcher saw the
records in. ``reason`` is the ``IgnoreReason`` value and ``problem`` a malformed record's problem, so
counting never parses text; ``email_key`` is ``recruit_sync.addresses.email_key``, as explain looks up.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from recruit_sync.addresses import email_key
from recruit_sync.contracts.counts import Counted
from recruit_sync.contracts.events import BatchImported, Displacement, IgnoreReason, Outcome, RecordOutcome
from recruit_sync.history.store import Conn
from recruit_sync.history.store.batches import Target

_COLUMNS = (
    "run_id", "seq", "position", "record_id", "email", "email_key", "outcome", "reason", "problem", "at"
)  # fmt: skip


Row = tuple[object, ...]


def outcome_rows(batch: BatchImported) -> list[Row]:
    """The rows of one batch's outcomes, ready for ``copy_outcomes`` (keying every address takes a
    while: the caller builds them before it takes the run's lock)."""
    return [
        (
            batch.run_id,
            batch.seq,
            position,
            item.record_id,
            item.email,
            email_key(item.email),
            item.outcome.value,
            item.reason.value if item.reason else None,
            item.problem,
            batch.occurred_at,
        )
        for position, item in enumerate(batch.outcomes)
    ]


async def copy_outcomes(conn: Conn, rows: list[Row]) -> None:
    """COPY a batch's rows: a run has hundreds of thousands of outcomes, row-by-row INSERTs cannot keep up."""
    await conn.copy_records_to_table("record_outcomes", records=rows, columns=_COLUMNS)


def outcome_of(row: asyncpg.Record) -> RecordOutcome:
    """A stored outcome (its record_id, email, outcome, reason and problem) as the contract says it."""
    return RecordOutcome(
        record_id=row["record_id"],
        email=row["email"],
        outcome=Outcome(row["outcome"]),
        reason=IgnoreReason(row["reason"]) if row["reason"] else None,
        problem=row["problem"],
    )


_TARGETS = "unnest($2::int[], $3::int[]) AS t(seq, position)"
# each returns the outcomes it changed as they were
_DISPLACING = {
    # `was` is the row before the update: the FROM list reads the statement's snapshot
    Displacement.FILE_DUPLICATE: f"""
        UPDATE record_outcomes o SET outcome = 'ignored', reason = 'file_duplicate', problem = NULL
          FROM record_outcomes was, {_TARGETS}
         WHERE o.run_id = $1 AND (o.seq, o.position) = (t.seq, t.position)
           AND was.run_id = $1 AND (was.seq, was.position) = (t.seq, t.position)
        RETURNING was.outcome, was.reason
        """,
    Displacement.VOID: f"""
        DELETE FROM record_outcomes o USING {_TARGETS}
         WHERE o.run_id = $1 AND (o.seq, o.position) = (t.seq, t.position)
        RETURNING o.outcome, o.reason
        """,
}


async def displace(conn: Conn, run_id: str, targets: Sequence[Target]) -> list[tuple[Counted, Displacement]]:
    """Apply supersessions to the run's stored outcomes: a file duplicate becomes ignored
    ``file_duplicate``, a void deletion is dropped. Returns each changed outcome as it was counted and
    what it became (an outcome not found changes nothing)."""
    changed: list[tuple[Counted, Displacement]] = []
    for becomes, statement in _DISPLACING.items():
        mine = [target for target in targets if target.becomes is becomes]
        if mine:
            rows = await conn.fetch(
                statement, run_id, [target.seq for target in mine], [target.position for target in mine]
            )
            changed += [(_counted(row), becomes) for row in rows]
    return changed


def _counted(row: asyncpg.Record) -> Counted:
    return Outcome(row["outcome"]), IgnoreReason(row["reason"]) if row["reason"] else None


async def run_records(
    conn: Conn, run_id: str, outcome: Outcome | None, limit: int | None, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT record_id, email, outcome, reason, problem FROM record_outcomes
        WHERE run_id = $1 AND ($2::text IS NULL OR outcome = $2)
        ORDER BY seq, position
        LIMIT $3 OFFSET $4
        """,
        run_id,
        outcome.value if outcome else None,
        limit,
        offset,
    )


async def outcomes_for_email(conn: Conn, email: str) -> list[asyncpg.Record]:
    """Every outcome stored for the address, whatever its case or the form of its domain, newest first."""
    return await conn.fetch(
        """
        SELECT o.run_id, coalesce(r.sync_id, '') AS sync_id, o.at,
               o.record_id, o.email, o.outcome, o.reason, o.problem
        FROM record_outcomes o JOIN runs r USING (run_id)
        WHERE o.email_key = $1
        ORDER BY o.at DESC, o.run_id, o.seq, o.position
        """,
        email_key(email),
    )
