"""All of history's SQL (asyncpg). Functions take a connection so the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import (
    BatchImported,
    IgnoreReason,
    Outcome,
    RecordOutcome,
    RunCounts,
    RunState,
    RunSummary,
    Trigger,
)
from recruit_sync.history.aggregate import CLAIMING_REASONS, Placed, all_reasons

# a bare connection or one borrowed from the pool: the caller owns it and its transaction
Conn = asyncpg.Connection | PoolConnectionProxy

_COUNT_COLUMNS = ("total", *(outcome.value for outcome in Outcome))
OUTCOME_COLUMNS = ("run_id", "seq", "position", "record_id", "email", "email_key", "outcome", "reason", "at")


# --- runs ---------------------------------------------------------------------------------------


async def lock_run(conn: Conn, run_id: str) -> asyncpg.Record:
    """The run's row, created if this is its first event, locked until the transaction ends."""
    row = await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1 FOR UPDATE", run_id)
    if row is None:  # the run's first event (every later one finds the row: one statement)
        await conn.execute("INSERT INTO runs (run_id) VALUES ($1) ON CONFLICT (run_id) DO NOTHING", run_id)
        row = await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1 FOR UPDATE", run_id)
    assert row is not None
    return row


async def note_run_facts(
    conn: Conn,
    run_id: str,
    *,
    sync_id: str | None = None,
    trigger: Trigger | None = None,
    started_at: datetime | None = None,
) -> None:
    """Fill in what an event tells about the run. Any event may come first, so keep what is known;
    the earliest start seen wins (SyncDue's time, or the fetch's start if SyncDue is late)."""
    await conn.execute(
        """
        UPDATE runs SET sync_id = coalesce(sync_id, $2),
                        trigger = coalesce(trigger, $3),
                        started_at = least(started_at, $4)
        WHERE run_id = $1
        """,
        run_id,
        sync_id,
        trigger.value if trigger else None,
        started_at,
    )


async def record_fetch(
    conn: Conn,
    run_id: str,
    *,
    batch_count: int,
    record_count: int,
    deleted_count: int,
    api_calls: int,
    credits: int,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        """
        UPDATE runs SET batch_count = $2, fetched_records = $3, fetched_deleted = $4,
                        api_calls = $5, credits = $6
        WHERE run_id = $1 RETURNING *
        """,
        run_id,
        batch_count,
        record_count,
        deleted_count,
        api_calls,
        credits,
    )
    assert row is not None
    return row


async def record_spend(conn: Conn, run_id: str, *, api_calls: int, credits: int) -> None:
    """A failed fetch still reports what it spent; never lower what an earlier event recorded."""
    await conn.execute(
        "UPDATE runs SET api_calls = greatest(api_calls, $2), credits = greatest(credits, $3) "
        "WHERE run_id = $1",
        run_id,
        api_calls,
        credits,
    )


async def save_counts(conn: Conn, run_id: str, counts: RunCounts) -> asyncpg.Record:
    """Store the run's new running totals and count one more batch received."""
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(_COUNT_COLUMNS, start=2))
    row = await conn.fetchrow(
        f"""
        UPDATE runs SET {assignments},
                        ignored_by_reason = ${len(_COUNT_COLUMNS) + 2},
                        batches_received = batches_received + 1
        WHERE run_id = $1 RETURNING *
        """,
        run_id,
        *(getattr(counts, column) for column in _COUNT_COLUMNS),
        {reason.value: n for reason, n in counts.ignored_by_reason.items()},
    )
    assert row is not None
    return row


async def finish_run(
    conn: Conn,
    run_id: str,
    *,
    state: RunState,
    finished_at: datetime,
    error: str | None = None,
    auth_failed: bool = False,
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "UPDATE runs SET state = $2, finished_at = $3, error = $4, auth_failed = $5 "
        "WHERE run_id = $1 RETURNING *",
        run_id,
        state.value,
        finished_at,
        error,
        auth_failed,
    )
    assert row is not None
    return row


def counts_of(row: asyncpg.Record) -> RunCounts:
    return RunCounts(
        **{column: row[column] for column in _COUNT_COLUMNS},
        ignored_by_reason=all_reasons(row["ignored_by_reason"]),
    )


def summary_of(row: asyncpg.Record) -> RunSummary:
    return RunSummary(
        run_id=row["run_id"],
        # only MessageRejected carries no sync id: a run failed by it before any other event is anonymous
        sync_id=row["sync_id"] or "",
        state=RunState(row["state"]),
        trigger=Trigger(row["trigger"]) if row["trigger"] else None,
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        api_calls=row["api_calls"],
        credits=row["credits"],
        error=row["error"],
        **counts_of(row).model_dump(),
    )


async def get_run(conn: Conn, run_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1", run_id)


async def list_runs(conn: Conn, sync_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM runs WHERE sync_id = $1 ORDER BY coalesce(started_at, created_at) DESC, run_id",
        sync_id,
    )


# --- inbox and batches --------------------------------------------------------------------------


async def claim_event(conn: Conn, event: Envelope) -> bool:
    """True the first time this event is handled; False for a redelivery."""
    inserted = await conn.fetchval(
        "INSERT INTO inbox (event_id, event_type) VALUES ($1, $2) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING true",
        event.event_id,
        event.ROUTING_KEY,
    )
    return bool(inserted)


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


# --- per-record outcomes ------------------------------------------------------------------------


def email_key(email: str | None) -> str | None:
    """The address as explain looks it up: trimmed and lower-cased (comparison is case-insensitive)."""
    if email is None:
        return None
    key = email.strip().lower()
    return key or None


async def copy_outcomes(
    conn: Conn,
    batch: BatchImported,
    outcomes: Sequence[tuple[int, RecordOutcome]],
    keys: Sequence[str | None],
) -> None:
    """COPY one batch's outcomes, (position in the batch, outcome) as settled: a run has hundreds of
    thousands, row-by-row INSERTs cannot keep up."""
    rows = [
        (
            batch.run_id,
            batch.seq,
            position,
            item.record_id,
            item.email,
            keys[position],
            item.outcome.value,
            item.reason,
            batch.occurred_at,
        )
        for position, item in outcomes
    ]
    await conn.copy_records_to_table("record_outcomes", records=rows, columns=OUTCOME_COLUMNS)


# aggregate.holds_email as an SQL condition on `alias`
def _placed(alias: str) -> str:
    reasons = ", ".join(f"'{reason.value}'" for reason in CLAIMING_REASONS)
    return f"({alias}.outcome <> 'ignored' OR {alias}.reason IN ({reasons}))"


async def placed_in_run(conn: Conn, run_id: str, keys: Sequence[str]) -> dict[str, list[Placed]]:
    """Email key -> the run's recorded outcomes that hold that email (usually none), for ``keys``:
    one index probe per key, so the cost does not grow with the run."""
    if not keys:
        return {}
    rows = await conn.fetch(
        f"""
        SELECT t.key, o.seq, o.position, o.outcome, o.reason, o.at
          FROM jsonb_array_elements_text($2::jsonb) AS t(key)
         CROSS JOIN LATERAL (
               SELECT seq, position, outcome, reason, at FROM record_outcomes o
                WHERE o.email_key = t.key AND o.run_id = $1 AND {_placed("o")}
               OFFSET 0  -- keeps the planner from flattening this into a hash join over the whole run
               ) o
        """,
        run_id,
        list(keys),
    )
    found: dict[str, list[Placed]] = {}
    for r in rows:
        row = Placed(r["seq"], r["position"], Outcome(r["outcome"]), r["reason"], r["at"])
        found.setdefault(r["key"], []).append(row)
    return found


async def mark_file_duplicates(conn: Conn, run_id: str, rows: Sequence[Placed]) -> None:
    await conn.execute(
        """
        UPDATE record_outcomes SET outcome = 'ignored', reason = $2
         WHERE run_id = $1 AND (seq, position) IN (SELECT (r->>0)::int, (r->>1)::int
                                                     FROM jsonb_array_elements($3::jsonb) AS r)
        """,
        run_id,
        IgnoreReason.FILE_DUPLICATE.value,
        [row.where for row in rows],
    )


async def drop_outcomes(conn: Conn, run_id: str, rows: Sequence[Placed]) -> None:
    await conn.execute(
        """
        DELETE FROM record_outcomes
         WHERE run_id = $1 AND (seq, position) IN (SELECT (r->>0)::int, (r->>1)::int
                                                     FROM jsonb_array_elements($2::jsonb) AS r)
        """,
        run_id,
        [row.where for row in rows],
    )


async def run_records(
    conn: Conn, run_id: str, outcome: Outcome | None, limit: int | None, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT record_id, email, outcome, reason FROM record_outcomes
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
    return await conn.fetch(
        """
        SELECT o.run_id, coalesce(r.sync_id, '') AS sync_id, o.record_id, o.outcome, o.reason, o.at
        FROM record_outcomes o JOIN runs r USING (run_id)
        WHERE o.email_key = $1
        ORDER BY o.at DESC, o.run_id, o.seq, o.position
        """,
        email_key(email),
    )
