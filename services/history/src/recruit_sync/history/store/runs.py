"""One row per run: created by whichever of its events comes first, locked while an event is applied,
holding the running counts and, once final, the summary ``RunCompleted`` carries."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from recruit_sync.contracts.counts import all_reasons
from recruit_sync.contracts.events import Outcome, RunCounts, RunState, RunSummary, Trigger
from recruit_sync.history.store import Conn

_COUNT_COLUMNS = ("total", *(outcome.value for outcome in Outcome))


async def lock_run(conn: Conn, run_id: str) -> asyncpg.Record:
    """The run's row, created if this is its first event, locked until the transaction ends."""
    row = await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1 FOR UPDATE", run_id)
    if row is None:  # the run's first event (every later one finds the row: one statement)
        await conn.execute("INSERT INTO runs (run_id) VALUES ($1) ON CONFLICT (run_id) DO NOTHING", run_id)
        row = await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1 FOR UPDATE", run_id)
    assert row is not None
    return row


async def lock_known_run(conn: Conn, run_id: str) -> asyncpg.Record | None:
    """The run's row locked until the transaction ends, or None when history has no such run (and
    then none is created).

    A run whose first event is being applied right now has an uncommitted row the plain ``SELECT``
    does not see; the probing ``INSERT`` waits for that transaction and then conflicts, so such a run
    is found too. A probe that inserts is the only one: it is rolled back (a savepoint)."""
    row = await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1 FOR UPDATE", run_id)
    if row is not None:
        return row
    try:
        async with conn.transaction():
            inserted = await conn.fetchval(
                "INSERT INTO runs (run_id) VALUES ($1) ON CONFLICT (run_id) DO NOTHING RETURNING true",
                run_id,
            )
            if inserted:
                raise _Unknown
    except _Unknown:
        return None
    return await conn.fetchrow("SELECT * FROM runs WHERE run_id = $1 FOR UPDATE", run_id)


class _Unknown(Exception):
    """Rolls back the probe of ``lock_known_run``."""


async def note_progress(conn: Conn, run_id: str) -> None:
    """The run moved: one of its events was applied (``history.stalls``)."""
    await conn.execute("UPDATE runs SET progressed_at = now() WHERE run_id = $1", run_id)


async def stalled_run_ids(conn: Conn, seconds: float, limit: int = 100) -> list[str]:
    """Running runs without progress for ``seconds``, least recently progressed first."""
    rows = await conn.fetch(
        "SELECT run_id FROM runs "
        "WHERE state = 'running' AND progressed_at < now() - make_interval(secs => $1) "
        "ORDER BY progressed_at LIMIT $2",
        seconds,
        limit,
    )
    return [row["run_id"] for row in rows]


async def lock_stalled_run(conn: Conn, run_id: str, seconds: float) -> asyncpg.Record | None:
    """The run's row locked, if it is still running without progress for ``seconds``; None when it has
    moved or ended since, or when an event of it (or another replica's look) holds it right now."""
    return await conn.fetchrow(
        "SELECT * FROM runs WHERE run_id = $1 AND state = 'running' "
        "AND progressed_at < now() - make_interval(secs => $2) FOR UPDATE SKIP LOCKED",
        run_id,
        seconds,
    )


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
