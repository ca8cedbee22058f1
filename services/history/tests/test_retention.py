"""What history prunes, on the real database through the real handlers: outcomes of runs finished more
than ``keep_outcomes`` ago (the run's summary stays), bookkeeping more than ``keep_bookkeeping`` old,
never anything of a run still running, and at most a thousand rows per statement."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.envelope import utc_now
from recruit_sync.contracts.events import Displacement, Outcome, RunState
from recruit_sync.history import handlers
from recruit_sync.history.app import SERVICE
from recruit_sync.history.store import retention
from recruit_sync.runtime.retention import prune
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

SETTINGS = Settings.from_env()  # 90 days of outcomes, 7 of bookkeeping
DAYS = timedelta(days=1)

# each DELETE's row count, as the database saw it
NOTE_DELETIONS = """
CREATE TABLE public.deletions (tbl text, rows int, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION public.note_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.deletions (tbl, rows) SELECT TG_TABLE_NAME, count(*) FROM gone; RETURN NULL; END $$;
CREATE TRIGGER outcomes_deleted AFTER DELETE ON batch_outcomes REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION public.note_deletion();
"""


async def _finished_run(pool: asyncpg.Pool, run: Any, records: int, batches: int = 1) -> list[Any]:
    """A run of ``records`` in ``batches`` batches, then one naming an outcome of the first as a file
    duplicate, that succeeds; returns its events."""
    size = -(-records // batches)
    firsts = [
        run.batch(seq, [run.record(str(i), f"p{i}@example.com") for i in range(lo, min(lo + size, records))])
        for seq, lo in enumerate(range(0, records, size))
    ]
    last = run.batch(
        len(firsts),
        [run.record("x", "p0@example.com", Outcome.UPDATED)],
        superseded=[run.displaces(0, 0, by=0, becomes=Displacement.FILE_DUPLICATE)],
    )
    events = [run.sync_due(), *firsts, last, run.fetch_completed(len(firsts) + 1, records + 1)]
    for event in events:
        await _apply(pool, event)
    return events


async def _apply(pool: asyncpg.Pool, event: Any) -> None:
    handler = {
        "sync.due": handlers.start_run,
        "batch.imported": handlers.record_batch,
        "fetch.completed": handlers.complete_fetch,
        "fetch.failed": handlers.fail_fetch,
    }[event.ROUTING_KEY]
    await handler(event, pool=pool)


async def _finished_ago(pool: asyncpg.Pool, run: Any, age: timedelta) -> None:
    await pool.execute(
        "UPDATE runs SET finished_at = now() - $2::interval WHERE run_id = $1", run.run_id, age
    )


async def _handled_ago(pool: asyncpg.Pool, events: list[Any], age: timedelta) -> None:
    await pool.execute(
        "UPDATE inbox SET handled_at = now() - $2::interval WHERE event_id = ANY($1::uuid[])",
        [event.event_id for event in events],
        age,
    )


def _summary(run: asyncpg.Record) -> dict[str, Any]:
    """The run's row but for the times pruning tests move or that any event touches."""
    return {key: value for key, value in run.items() if key not in ("finished_at", "progressed_at")}


async def _rows(pool: asyncpg.Pool, table: str, run: Any) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table} WHERE run_id = $1", run.run_id))


async def test_outcomes_and_bookkeeping_go_by_age_and_a_running_run_keeps_everything(
    pool: asyncpg.Pool, make_run: Any
) -> None:
    long_ago, a_while_ago, just_now = make_run(), make_run(), make_run()
    long_ago_events = await _finished_run(pool, long_ago, records=2500, batches=250)
    a_while_ago_events = await _finished_run(pool, a_while_ago, records=3)
    await _finished_run(pool, just_now, records=3)
    # failed: its second batch named an outcome of a first batch that never came
    failed = make_run()
    failed_events = [
        failed.sync_due(),
        failed.batch(
            1,
            [failed.record("y", "q@example.com")],
            superseded=[failed.displaces(0, 3, by=0, becomes=Displacement.FILE_DUPLICATE)],
        ),
        failed.fetch_failed("Recruit answered 500"),
    ]
    # running since long ago: SyncDue and one batch (naming an outcome of one still to come)
    running = make_run()
    running_events = [
        running.sync_due(),
        running.batch(
            1,
            [running.record("z", "r@example.com")],
            superseded=[running.displaces(0, 1, by=0, becomes=Displacement.FILE_DUPLICATE)],
        ),
    ]
    for event in failed_events + running_events:
        await _apply(pool, event)

    await _finished_ago(pool, long_ago, 100 * DAYS)
    await _finished_ago(pool, a_while_ago, 10 * DAYS)
    await _finished_ago(pool, failed, 10 * DAYS)
    await pool.execute("UPDATE runs SET started_at = now() - interval '100 days'")
    await _handled_ago(pool, long_ago_events + failed_events + running_events, 8 * DAYS)
    await _handled_ago(pool, a_while_ago_events, 6 * DAYS)
    # RunCompleted: sent 8 days ago, sent 6 days ago, and one written 30 days ago and never sent
    sent = await pool.fetch("SELECT event_id, payload FROM outbox ORDER BY id")
    by_run = {row["payload"]["summary"]["run_id"]: row["event_id"] for row in sent}
    await pool.execute(
        "UPDATE outbox SET sent_at = now() - interval '8 days' WHERE event_id = $1", by_run[long_ago.run_id]
    )
    await pool.execute(
        "UPDATE outbox SET sent_at = now() - interval '6 days' WHERE event_id = $1",
        by_run[a_while_ago.run_id],
    )
    await pool.execute(
        "UPDATE outbox SET created_at = now() - interval '30 days' WHERE event_id = $1", by_run[failed.run_id]
    )
    summary_before = await pool.fetchrow("SELECT * FROM runs WHERE run_id = $1", long_ago.run_id)
    await pool.execute(NOTE_DELETIONS)

    pruned = await prune(pool, retention.prunes(SETTINGS), utc_now())

    assert pruned == {
        "batch_outcomes": 251,  # the batches of the run finished 100 days ago
        "run_batches": 251 + 2 + 1,  # those of the runs finished 100 and 10 days ago
        "superseded": 1,  # the failed run's, waiting for a batch that will never come
        "inbox": len(long_ago_events + failed_events + running_events),
        "outbox": 1,
    }
    # at most a hundred batches' outcomes per statement
    assert [row["rows"] for row in await pool.fetch("SELECT rows FROM public.deletions ORDER BY at")] == [
        100,
        100,
        51,
    ]
    # the run finished 100 days ago keeps its summary; 10 days ago, its outcomes too
    assert dict(await pool.fetchrow("SELECT * FROM runs WHERE run_id = $1", long_ago.run_id)) == dict(
        summary_before
    )
    assert await _rows(pool, "batch_outcomes", long_ago) == 0
    assert (
        await _rows(pool, "batch_outcomes", a_while_ago),
        await _rows(pool, "run_batches", a_while_ago),
    ) == (
        2,
        0,
    )
    assert await _rows(pool, "superseded", failed) == 0
    # the run still running keeps everything, however old
    assert [
        await _rows(pool, table, running) for table in ("batch_outcomes", "run_batches", "superseded")
    ] == [
        1,
        1,
        1,
    ]
    assert await _rows(pool, "batch_outcomes", just_now) == 2
    # young inbox rows stay, and the outbox keeps the RunCompleted sent 6 days ago and the unsent one
    assert await pool.fetchval("SELECT count(*) FROM inbox") == len(a_while_ago_events) + 4
    assert {
        row["payload"]["summary"]["run_id"] for row in await pool.fetch("SELECT payload FROM outbox")
    } == {
        a_while_ago.run_id,
        just_now.run_id,
        failed.run_id,
    }
    assert await prune(pool, retention.prunes(SETTINGS), utc_now()) == {}


async def test_a_late_event_of_a_pruned_run_changes_nothing(pool: asyncpg.Pool, run: Any) -> None:
    """Inbox rows and batches received go after a week: a redelivery after that finds the run final."""
    events = await _finished_run(pool, run, records=3)
    before = await pool.fetchrow("SELECT * FROM runs WHERE run_id = $1", run.run_id)
    await _finished_ago(pool, run, 8 * DAYS)
    await _handled_ago(pool, events, 8 * DAYS)
    assert (await prune(pool, retention.prunes(SETTINGS), utc_now())).keys() == {"inbox", "run_batches"}
    for event in events:
        await _apply(pool, event)
    after = await pool.fetchrow("SELECT * FROM runs WHERE run_id = $1", run.run_id)
    assert _summary(after) == _summary(before)
    assert after["state"] == RunState.SUCCEEDED
    assert await _rows(pool, "batch_outcomes", run) == 2


def test_the_service_prunes_in_the_background() -> None:
    assert "prune_old_rows" in [loop.__name__ for loop in SERVICE.loops]
    assert [(p.table, p.keep) for p in retention.prunes(SETTINGS)] == list(
        itertools.chain(
            [("batch_outcomes", 90 * DAYS)],
            [(table, 7 * DAYS) for table in ("run_batches", "superseded", "inbox", "outbox")],
        )
    )
