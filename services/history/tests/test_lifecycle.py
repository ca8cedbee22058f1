"""Runs never hang (issue 10): a run is cancelled on request or failed once it has stalled, announced
with RunCompleted like any completion, and what its fetch or import sends afterwards changes nothing.
On the real database; the last tests run the service as deployed, on the real broker."""

from __future__ import annotations

import asyncio
import dataclasses
from functools import partial
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
from faststream import FastStream, TestApp
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.events import Outcome, RunCompleted, RunState
from recruit_sync.contracts.ids import run_completed_id
from recruit_sync.contracts.resources import RunRef
from recruit_sync.history import handlers
from recruit_sync.history.app import SERVICE, operations, watch_stalls
from recruit_sync.history.stalls import StallPolicy
from recruit_sync.history.store.runs import get_run, summary_of
from recruit_sync.runtime.broker import publish_event
from recruit_sync.runtime.rpc import RpcClient, RpcError
from recruit_sync.runtime.service import Resources, build_app
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

TEN_MINUTES = StallPolicy(600)


async def _state(pool: asyncpg.Pool, run_id: str) -> tuple[str, str | None, int]:
    async with pool.acquire() as conn:
        row = await get_run(conn, run_id)
    assert row is not None
    return row["state"], row["error"], row["total"]


async def _outbox(pool: asyncpg.Pool) -> list[Any]:
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    return [RunCompleted.model_validate(row["payload"]) for row in rows]


async def _silent_for(pool: asyncpg.Pool, run_id: str, seconds: float) -> None:
    """As if the run's last event had been applied ``seconds`` ago."""
    await pool.execute(
        "UPDATE runs SET progressed_at = now() - make_interval(secs => $2) WHERE run_id = $1", run_id, seconds
    )


# cancel ---------------------------------------------------------------------------------------------


async def test_cancel_fails_a_running_run_and_announces_it(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    await handlers.record_batch(run.batch(0, [run.record("1", "a@example.com")]), pool=pool)
    completed = await handlers.cancel_run(run.run_id, pool=pool)
    assert completed.event_id == run_completed_id(run.run_id)
    summary = completed.summary
    assert (summary.state, summary.error, summary.sync_id, summary.total) == (
        RunState.FAILED,
        "cancelled",
        run.sync_id,
        1,
    )
    assert summary.finished_at is not None
    assert await _outbox(pool) == [completed]


async def test_a_run_that_has_ended_cannot_be_cancelled_and_the_refusal_names_its_state(
    pool: asyncpg.Pool, make_run: Any
) -> None:
    done, failed = make_run(), make_run()
    await handlers.complete_fetch(done.fetch_completed(0), pool=pool)
    await handlers.fail_fetch(failed.fetch_failed("Recruit answered 500"), pool=pool)
    with pytest.raises(handlers.NotRunning, match=f"^run {done.run_id} has already succeeded$"):
        await handlers.cancel_run(done.run_id, pool=pool)
    with pytest.raises(
        handlers.NotRunning, match=f"^run {failed.run_id} has already failed \\(Recruit answered 500\\)$"
    ):
        await handlers.cancel_run(failed.run_id, pool=pool)
    assert len(await _outbox(pool)) == 2  # the two completions, nothing more


async def test_cancelling_a_run_history_does_not_know_creates_none(pool: asyncpg.Pool) -> None:
    with pytest.raises(handlers.UnknownRun):
        await handlers.cancel_run("no-such-run", pool=pool)
    assert await pool.fetchval("SELECT count(*) FROM runs") == 0


async def test_events_after_a_cancel_change_nothing(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    await handlers.record_batch(run.batch(0, [run.record("1", "a@example.com")]), pool=pool)
    cancelled = await handlers.cancel_run(run.run_id, pool=pool)
    # the fetcher and importer went on meanwhile
    assert await handlers.record_batch(run.batch(1, [run.record("2", "b@example.com")]), pool=pool) is None
    assert await handlers.complete_fetch(run.fetch_completed(2, 2), pool=pool) is None
    assert await handlers.fail_rejected_run(run.rejected("broken"), pool=pool) is None
    assert await _state(pool, run.run_id) == ("failed", "cancelled", 1)
    assert await pool.fetchval("SELECT count(*) FROM batch_outcomes") == 1  # (of one record)
    assert await _outbox(pool) == [cancelled]


# stalls ---------------------------------------------------------------------------------------------


async def test_runs_silent_past_the_limit_fail_naming_the_stage(pool: asyncpg.Pool, make_run: Any) -> None:
    r = make_run.record
    not_fetched, not_ended, not_imported, moving, finished = (make_run() for _ in range(5))
    for item in (not_fetched, not_ended, not_imported, moving, finished):
        await handlers.start_run(item.sync_due(), pool=pool)
    await handlers.record_batch(not_ended.batch(0, [r("1", "a@example.com")]), pool=pool)
    await handlers.complete_fetch(not_imported.fetch_completed(3, 3), pool=pool)
    await handlers.record_batch(not_imported.batch(0, [r("1", "a@example.com")]), pool=pool)
    await handlers.complete_fetch(finished.fetch_completed(0), pool=pool)
    for item in (not_fetched, not_ended, not_imported, finished):
        await _silent_for(pool, item.run_id, 601)
    await _silent_for(pool, moving.run_id, 590)

    failed = await handlers.fail_stalled_runs(TEN_MINUTES, pool=pool)

    errors = {c.summary.run_id: c.summary.error for c in failed}
    assert errors == {
        not_fetched.run_id: (
            "stalled: the fetch has not reported for 600 s (no batch imported, no end of fetch)"
        ),
        not_ended.run_id: (
            "stalled: waiting for the fetch to end (nothing for 600 s; 1 batches imported so far)"
        ),
        not_imported.run_id: "stalled: no batch imported for 600 s (1 of 3 batches in)",
    }
    assert all(c.summary.state is RunState.FAILED and c.summary.sync_id == "sync-1" for c in failed)
    assert all(c.causation_id is None for c in failed)
    assert await _state(pool, moving.run_id) == ("running", None, 0)
    assert (await _state(pool, finished.run_id))[0] == "succeeded"
    assert sorted(c.summary.run_id for c in await _outbox(pool)) == sorted([*errors, finished.run_id])
    # looking again finds nothing more
    assert await handlers.fail_stalled_runs(TEN_MINUTES, pool=pool) == []
    # the importer catches up later: the run stays failed, its counts as they were
    late = not_imported.batch(1, [r("2", "b@example.com", Outcome.DUPLICATE)])
    assert await handlers.record_batch(late, pool=pool) is None
    assert await _state(pool, not_imported.run_id) == ("failed", errors[not_imported.run_id], 1)


async def test_every_event_applied_is_progress(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    await _silent_for(pool, run.run_id, 900)
    await handlers.record_batch(run.batch(0, [run.record("1", "a@example.com")]), pool=pool)
    assert await handlers.fail_stalled_runs(TEN_MINUTES, pool=pool) == []
    await _silent_for(pool, run.run_id, 900)
    await handlers.complete_fetch(run.fetch_completed(2, 2), pool=pool)
    assert await handlers.fail_stalled_runs(TEN_MINUTES, pool=pool) == []
    assert (await _state(pool, run.run_id))[0] == "running"


async def test_a_run_an_event_is_being_applied_to_is_left_alone(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    await _silent_for(pool, run.run_id, 900)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM runs WHERE run_id = $1 FOR UPDATE", run.run_id)  # as _apply does
        assert await handlers.fail_stalled_runs(TEN_MINUTES, pool=pool) == []
    [failed] = await handlers.fail_stalled_runs(TEN_MINUTES, pool=pool)
    assert failed.summary.run_id == run.run_id


async def test_replicas_looking_at_once_fail_each_run_once(pool: asyncpg.Pool, make_run: Any) -> None:
    runs = [make_run() for _ in range(6)]
    for item in runs:
        await handlers.start_run(item.sync_due(), pool=pool)
        await _silent_for(pool, item.run_id, 700)
    looks = await asyncio.gather(*(handlers.fail_stalled_runs(TEN_MINUTES, pool=pool) for _ in range(3)))
    failed = [c.summary.run_id for look in looks for c in look]
    assert sorted(failed) == sorted(item.run_id for item in runs)
    assert len(await _outbox(pool)) == len(runs)


# the service as deployed ----------------------------------------------------------------------------


def test_every_history_rpc_operation_is_served(pool: asyncpg.Pool) -> None:
    resources = Resources(Settings.from_env(), broker=None, _pool=pool)  # type: ignore[arg-type]
    served = {item.operation for item in operations(resources)}
    assert served == {op for op in rpc.OPERATIONS if op.queue == topology.HISTORY_RPC}
    assert rpc.RUNS_CANCEL in served


def _history(database_url: str, amqp_url: str, stall: StallPolicy) -> FastStream:
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)
    return build_app(dataclasses.replace(SERVICE, loops=(partial(watch_stalls, policy=stall),)), settings)


async def _next_run_completed(queue: aio_pika.abc.AbstractQueue, timeout: float = 30) -> RunCompleted:
    async with queue.iterator(timeout=timeout) as messages:
        async for message in messages:
            await message.ack()
            return RunCompleted.model_validate(orjson.loads(message.body))
    raise AssertionError("no RunCompleted")


async def test_the_service_fails_a_stalled_run_and_publishes_run_completed(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    event_queue: Any,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    completed = await event_queue(topology.RUN_COMPLETED)
    async with TestApp(_history(database_url, amqp_url, StallPolicy(1))):
        await publish_event(publisher, run.sync_due())
        await publish_event(publisher, run.fetch_completed(2, 2))
        failed = await _next_run_completed(completed)
    assert failed.summary.run_id == run.run_id
    assert failed.summary.error == "stalled: no batch imported for 1 s (0 of 2 batches in)"
    async with pool.acquire() as conn:
        row = await get_run(conn, run.run_id)
    assert row is not None and summary_of(row) == failed.summary


async def test_runs_cancel_over_rpc(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    event_queue: Any,
    publisher: RabbitBroker,
    run: Any,
) -> None:
    completed = await event_queue(topology.RUN_COMPLETED)
    async with TestApp(_history(database_url, amqp_url, TEN_MINUTES)):
        await publish_event(publisher, run.sync_due())
        for _ in range(100):
            if await pool.fetchval("SELECT count(*) FROM runs WHERE run_id = $1", run.run_id):
                break
            await asyncio.sleep(0.1)
        api = RpcClient(amqp_url)  # as the HTTP API calls history
        await api.connect()
        try:
            summary = await api.call(rpc.RUNS_CANCEL, RunRef(run_id=run.run_id), timeout=10)
            assert (summary.state, summary.error) == (RunState.FAILED, "cancelled")
            assert (await _next_run_completed(completed)).summary == summary
            with pytest.raises(RpcError) as again:
                await api.call(rpc.RUNS_CANCEL, RunRef(run_id=run.run_id), timeout=10)
            assert again.value.status == 409
            assert str(again.value) == f"run {run.run_id} has already failed (cancelled)"
            with pytest.raises(RpcError) as unknown:
                await api.call(rpc.RUNS_CANCEL, RunRef(run_id="nope"), timeout=10)
            assert (unknown.value.status, str(unknown.value)) == (404, "no run 'nope'")
        finally:
            await api.close()
