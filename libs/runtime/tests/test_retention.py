"""Retention's loop on a real database: old rows go in batches of at most ``limit`` rows per statement,
young ones stay, rows that go by run are found run by run, and the service loop prunes on its own."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from recruit_sync.runtime.db import create_pool, migrate
from recruit_sync.runtime.journal import Retention
from recruit_sync.runtime.retention import Prune, journal_keeps, prune, pruning
from recruit_sync.runtime.service import Resources
from recruit_sync.runtime.settings import Settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

# a statement-level trigger notes how many rows each DELETE removed: the batches, as the database saw them
SCHEMA = """
CREATE TABLE events (id int PRIMARY KEY, handled_at timestamptz NOT NULL);
CREATE INDEX events_by_age ON events (handled_at);
CREATE TABLE runs (run_id text PRIMARY KEY, finished_at timestamptz);
CREATE TABLE outcomes (run_id text NOT NULL, n int NOT NULL, PRIMARY KEY (run_id, n));
CREATE TABLE deletions (tbl text NOT NULL, rows int NOT NULL, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION note_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deletions (tbl, rows) SELECT TG_TABLE_NAME, count(*) FROM gone;
    RETURN NULL;
END $$;
CREATE TRIGGER events_deleted AFTER DELETE ON events REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION note_deletion();
CREATE TRIGGER outcomes_deleted AFTER DELETE ON outcomes REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION note_deletion();
"""

FINISHED_RUNS = "SELECT run_id FROM runs WHERE finished_at < $1 ORDER BY finished_at DESC"


@pytest.fixture
async def pool(database_url: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    (tmp_path / "0001_init.sql").write_text(SCHEMA)
    await migrate(database_url, "svc", tmp_path)
    pool = await create_pool(database_url, "svc")
    yield pool
    await pool.close()


async def _events(pool: asyncpg.Pool, ages: list[timedelta]) -> None:
    await pool.executemany(
        "INSERT INTO events (id, handled_at) VALUES ($1, $2)", [(i, NOW - age) for i, age in enumerate(ages)]
    )


async def _deletions(pool: asyncpg.Pool, table: str) -> list[int]:
    rows = await pool.fetch("SELECT rows FROM deletions WHERE tbl = $1 ORDER BY at", table)
    return [row["rows"] for row in rows]


def test_a_prune_deletes_by_ctid_in_batches_and_refuses_what_is_not_a_name() -> None:
    assert Prune("inbox", "handled_at < $1", DAY, limit=10).statement() == (
        "DELETE FROM inbox WHERE ctid = ANY(ARRAY(SELECT ctid FROM inbox WHERE handled_at < $1 LIMIT 10 "
        "FOR UPDATE SKIP LOCKED))"
    )
    by_run = Prune("outcomes", FINISHED_RUNS, DAY, by="run_id", limit=10).statement()
    assert f"FROM ({FINISHED_RUNS}) AS due (value) CROSS JOIN LATERAL (" in by_run
    assert "WHERE outcomes.run_id = due.value LIMIT 10 FOR UPDATE SKIP LOCKED) AS hit LIMIT 10" in by_run
    for bad, problem in [
        ({"table": "inbox; DROP TABLE runs"}, "not a plain table or column name"),
        ({"by": "run id"}, "not a plain table or column name"),
        ({"keep": timedelta(0)}, "keep must be positive"),
        ({"limit": 0}, "limit must be positive"),
    ]:
        with pytest.raises(ValueError, match=problem):
            Prune(**{"table": "inbox", "old": "handled_at < $1", "keep": DAY, **bad})


@pytest.mark.parametrize(
    ("max_age", "keeps"),
    [
        ("7D", timedelta(days=7)),
        ("1Y", timedelta(days=366)),
        ("2M", timedelta(days=62)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("1s", timedelta(seconds=1)),
    ],
)
def test_rows_a_dry_run_needs_are_kept_at_least_as_long_as_the_journal(
    max_age: str, keeps: timedelta
) -> None:
    assert journal_keeps(Retention(max_age)) == keeps


def test_retention_is_configured_in_days_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings.from_env()
    assert (defaults.keep_outcomes, defaults.keep_bookkeeping) == (timedelta(days=90), timedelta(days=7))
    assert defaults.prune_interval_seconds == 600
    monkeypatch.setenv("RECRUIT_SYNC_KEEP_OUTCOMES_DAYS", "30")
    monkeypatch.setenv("RECRUIT_SYNC_KEEP_BOOKKEEPING_DAYS", "0.5")
    monkeypatch.setenv("RECRUIT_SYNC_PRUNE_INTERVAL", "60")
    settings = Settings.from_env()
    assert (settings.keep_outcomes, settings.keep_bookkeeping) == (timedelta(days=30), timedelta(hours=12))
    assert settings.prune_interval_seconds == 60
    for value in ("0", "-1", "a week", "nan"):
        monkeypatch.setenv("RECRUIT_SYNC_KEEP_BOOKKEEPING_DAYS", value)
        with pytest.raises(ValueError, match=f"RECRUIT_SYNC_KEEP_BOOKKEEPING_DAYS '{value}'"):
            Settings.from_env()


@pytest.mark.integration
async def test_old_rows_go_in_batches_of_at_most_the_limit_and_young_ones_stay(pool: asyncpg.Pool) -> None:
    await _events(pool, [2 * DAY] * 25 + [timedelta(hours=1)] * 5)
    pruned = await prune(pool, [Prune("events", "handled_at < $1", DAY, limit=10)], NOW)
    assert pruned == {"events": 25}
    assert await _deletions(pool, "events") == [10, 10, 5]  # the last one found fewer: nothing left
    assert await pool.fetchval("SELECT count(*) FROM events WHERE handled_at > $1", NOW - DAY) == 5
    assert await pool.fetchval("SELECT count(*) FROM events") == 5
    assert await prune(pool, [Prune("events", "handled_at < $1", DAY, limit=10)], NOW) == {}


@pytest.mark.integration
async def test_rows_that_go_by_run_go_run_by_run_and_a_run_not_finished_keeps_them(
    pool: asyncpg.Pool,
) -> None:
    runs = {"old": NOW - 3 * DAY, "older": NOW - 4 * DAY, "recent": NOW - timedelta(hours=2), "running": None}
    await pool.executemany("INSERT INTO runs VALUES ($1, $2)", list(runs.items()))
    await pool.executemany(
        "INSERT INTO outcomes VALUES ($1, $2)", [(run, n) for run in runs for n in range(12)]
    )
    outcomes = Prune("outcomes", FINISHED_RUNS, DAY, by="run_id", limit=5)
    assert await prune(pool, [outcomes], NOW) == {"outcomes": 24}
    assert await _deletions(pool, "outcomes") == [5, 5, 5, 5, 4]
    left = await pool.fetch("SELECT run_id, count(*) FROM outcomes GROUP BY run_id ORDER BY run_id")
    assert [(row["run_id"], row["count"]) for row in left] == [("recent", 12), ("running", 12)]
    assert await pool.fetchval("SELECT count(*) FROM runs") == 4  # what decides is not what goes


@pytest.mark.integration
async def test_rows_held_by_a_transaction_are_skipped_not_waited_for(pool: asyncpg.Pool) -> None:
    await _events(pool, [2 * DAY] * 3)
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT * FROM events WHERE id = 0 FOR UPDATE")
        pruned = await asyncio.wait_for(prune(pool, [Prune("events", "handled_at < $1", DAY)], NOW), 10)
    assert pruned == {"events": 2}
    assert await pool.fetchval("SELECT array_agg(id) FROM events") == [0]  # the next pass takes it


@pytest.mark.integration
async def test_the_service_loop_prunes_at_start_and_again_every_interval(
    pool: asyncpg.Pool, database_url: str
) -> None:
    settings = dataclasses.replace(
        Settings.from_env(), database_url=database_url, keep_bookkeeping=DAY, prune_interval_seconds=0.05
    )
    loop = pruning(lambda s: [Prune("events", "handled_at < $1", s.keep_bookkeeping)])
    resources: Any = Resources(settings, broker=None, _pool=pool)
    task = asyncio.create_task(loop(resources))
    try:
        await pool.execute("INSERT INTO events VALUES (1, now()), (2, now() - interval '2 days')")
        await _until(lambda: pool.fetchval("SELECT count(*) = 1 FROM events"))
        await pool.execute("INSERT INTO events VALUES (7, now() - interval '3 days')")
        await _until(lambda: pool.fetchval("SELECT count(*) = 1 FROM events"))
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def _until(condition: Any) -> None:
    """Within 10 s."""
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within 10 s")
