"""What the importer prunes, on the real database through the real handler: a run's claims and imported
batches together, once its newest batch is older than the age kept (never less than the journal keeps
events, which ``replay --dry-run`` reads beside them), never some of a run still importing, and at most a
thousand claims per statement."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.envelope import utc_now
from recruit_sync.importer.app import SERVICE
from recruit_sync.importer.handlers import import_batch
from recruit_sync.importer.store import retention
from recruit_sync.runtime.journal import Retention
from recruit_sync.runtime.retention import prune
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

SETTINGS = Settings.from_env()  # 7 days of bookkeeping; the journal keeps 7 days
DAYS = timedelta(days=1)

NOTE_DELETIONS = """
CREATE TABLE public.deletions (tbl text, rows int, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION public.note_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.deletions (tbl, rows) SELECT TG_TABLE_NAME, count(*) FROM gone; RETURN NULL; END $$;
CREATE TRIGGER claims_deleted AFTER DELETE ON run_emails REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION public.note_deletion();
"""


async def _run(pool: asyncpg.Pool, sync: Any, record: Any, sizes: list[int]) -> str:
    """A new run of ``sync`` importing batches of ``sizes`` records (each its own email)."""
    run_id = sync.new_run()
    start = 0
    for seq, size in enumerate(sizes):
        records = [record(str(i), f"person{i}@example.com") for i in range(start, start + size)]
        await import_batch(pool, sync.batch(seq, records))
        start += size
    return run_id


async def _creating_run(pool: asyncpg.Pool, sync: Any, record: Any, sizes: list[int]) -> str:
    """A first run, creating the contacts the runs after it claim as rows: a run's claims on contacts
    it created are kept on the contacts (importer migration 0009), and retention leaves the store alone."""
    run_id = await _run(pool, sync, record, sizes)
    assert await pool.fetchval("SELECT count(*) FROM run_emails WHERE run_id = $1", run_id) == 0
    return run_id


async def _last_batch_ago(pool: asyncpg.Pool, run_id: str, age: timedelta, seq: int | None = None) -> None:
    await pool.execute(
        "UPDATE imported_batches SET occurred_at = now() - $2::interval "
        "WHERE run_id = $1 AND ($3::int IS NULL OR seq = $3)",
        run_id,
        age,
        seq,
    )


async def _kept(pool: asyncpg.Pool) -> dict[str, tuple[int, int]]:
    """Claims and imported batches per run."""
    rows = await pool.fetch(
        "SELECT run_id, (SELECT count(*) FROM run_emails e WHERE e.run_id = b.run_id) AS claims, count(*) "
        "FROM imported_batches b GROUP BY run_id"
    )
    return {row["run_id"]: (row["claims"], row["count"]) for row in rows}


async def test_a_run_over_for_longer_than_the_age_loses_its_claims_and_batches_together(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    created = await _creating_run(pool, sync, record, [1000, 1000, 500])
    over = await _run(pool, sync, record, [1000, 1000, 500])
    importing = await _run(pool, sync, record, [10, 10])
    recent = await _run(pool, sync, record, [10])
    await _last_batch_ago(pool, over, 8 * DAYS)
    await _last_batch_ago(pool, importing, 8 * DAYS, seq=0)  # its first batch is old, its last is not
    contacts = await pool.fetchval("SELECT count(*) FROM contacts")
    await pool.execute(NOTE_DELETIONS)

    assert await prune(pool, retention.prunes(SETTINGS), utc_now()) == {
        "run_emails": 2500,
        "imported_batches": 3,
    }

    assert [row["rows"] for row in await pool.fetch("SELECT rows FROM public.deletions ORDER BY at")] == [
        1000,
        1000,
        500,
    ]
    assert await _kept(pool) == {created: (0, 3), importing: (20, 2), recent: (10, 1)}
    assert await pool.fetchval("SELECT count(*) FROM contacts") == contacts  # the store itself is not pruned
    assert await prune(pool, retention.prunes(SETTINGS), utc_now()) == {}


async def test_claims_are_kept_as_long_as_the_journal_keeps_the_runs_events(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    created = await _creating_run(pool, sync, record, [5])
    run_id = await _run(pool, sync, record, [5])
    await _last_batch_ago(pool, run_id, 3 * DAYS)
    a_day = dataclasses.replace(SETTINGS, keep_bookkeeping=1 * DAYS)  # but the journal keeps 7 days
    assert await prune(pool, retention.prunes(a_day), utc_now()) == {}
    assert await _kept(pool) == {created: (0, 1), run_id: (5, 1)}

    journal_a_day = dataclasses.replace(a_day, journal_retention=Retention("1D"))
    assert await prune(pool, retention.prunes(journal_a_day), utc_now()) == {
        "run_emails": 5,
        "imported_batches": 1,
    }


async def test_a_batch_of_a_run_kept_is_still_imported_once(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    """A redelivered batch of a run younger than the age finds itself recorded: the same event, no change."""
    sync.new_run()
    batch = sync.batch(0, [record("1", "ann@example.com")])
    first = await import_batch(pool, batch)
    await prune(pool, retention.prunes(SETTINGS), utc_now())
    assert await import_batch(pool, batch) == first


def test_the_service_prunes_in_the_background() -> None:
    assert "prune_old_rows" in [loop.__name__ for loop in SERVICE.loops]
