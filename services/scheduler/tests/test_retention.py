"""What the scheduler prunes, on the real database through its real handlers: handled RunCompleted and
published SyncDue older than ``keep_bookkeeping``, credit spends the budget no longer counts; never an
unsent event, nor a run in flight."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recruit_sync.contracts import rpc
from recruit_sync.contracts.envelope import utc_now
from recruit_sync.contracts.resources import RunSync
from recruit_sync.runtime.retention import prune
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler import retention
from recruit_sync.scheduler.app import SERVICE
from recruit_sync.scheduler.runs import record_run_completed

from .conftest import Scheduler, completed

pytestmark = pytest.mark.integration

SETTINGS = Settings.from_env()  # 7 days of bookkeeping


async def _run(s: Scheduler, sync_id: str) -> str:
    started = await s.call(rpc.SYNC_RUN, RunSync(id=sync_id))
    assert started.started
    return started.run_id


async def test_old_handled_and_sent_events_go_unsent_ones_and_runs_in_flight_stay(
    db_scheduler: Scheduler,
) -> None:
    s = db_scheduler
    await s.add_connection()
    sync_id = await s.create_sync()
    now = utc_now()
    # a run that finished ten days ago, one an hour ago, and one in flight whose SyncDue is still unsent
    old = await _run(s, sync_id)
    old_completed = completed(old, sync_id, started_at=now - timedelta(days=10), credits=4)
    await record_run_completed(s.deps, old_completed)
    recent = await _run(s, sync_id)
    await record_run_completed(
        s.deps, completed(recent, sync_id, started_at=now - timedelta(hours=1), credits=2)
    )
    in_flight = await _run(s, sync_id)
    pool = s.deps.pool
    await pool.execute(
        "UPDATE inbox SET handled_at = now() - interval '8 days' WHERE event_id = $1", old_completed.event_id
    )
    await pool.execute(
        "UPDATE outbox SET sent_at = now() - CASE payload->>'run_id' WHEN $1 THEN interval '8 days' "
        "ELSE interval '1 day' END WHERE payload->>'run_id' <> $2",
        old,
        in_flight,
    )
    await pool.execute("UPDATE outbox SET created_at = now() - interval '30 days'")

    assert await prune(pool, retention.prunes(SETTINGS), utc_now()) == {
        "inbox": 1,  # the old run's RunCompleted
        "outbox": 1,  # the old run's SyncDue, sent 8 days ago
        "credit_spend": 1,  # spent 10 days ago: no budget window counts it
    }

    assert await pool.fetchval("SELECT count(*) FROM inbox") == 1
    assert [
        row["payload"]["run_id"] for row in await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    ] == [
        recent,
        in_flight,  # unsent, however old: it still has to go out
    ]
    assert await pool.fetchval("SELECT array_agg(run_id) FROM credit_spend") == [recent]
    assert await pool.fetchval("SELECT array_agg(run_id) FROM runs_in_flight") == [in_flight]
    assert await prune(pool, retention.prunes(SETTINGS), utc_now()) == {}


def test_the_service_prunes_in_the_background() -> None:
    assert "prune_old_rows" in [loop.__name__ for loop in SERVICE.loops]
