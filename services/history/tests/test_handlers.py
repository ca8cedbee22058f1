"""Run events applied in any order and any number of times, on the real database."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.envelope import deterministic_id
from recruit_sync.contracts.events import IgnoreReason, Outcome, RunState, Trigger
from recruit_sync.history import handlers, store

pytestmark = pytest.mark.integration

NEW, IGNORED, DELETED = Outcome.NEW, Outcome.IGNORED, Outcome.DELETED


def _first_batch(run: Any) -> Any:
    return run.batch(
        0,
        [
            run.record("1", "Ann@Example.com", NEW),
            run.record("2", "info@example.com", IGNORED, "role_address"),
            run.record("3", None, IGNORED, "empty_email"),
        ],
    )


def _second_batch(run: Any) -> Any:
    return run.batch(
        1,
        [
            run.record("4", "bob@example.com", Outcome.UPDATED),
            run.record("5", "bob@example.com", IGNORED, "file_duplicate"),
            run.record("9", None, DELETED),
        ],
    )


async def _summary(pool: asyncpg.Pool, run_id: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await store.get_run(conn, run_id)
    assert row is not None
    return store.summary_of(row).model_dump(mode="json")


async def _outbox(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT * FROM outbox")


async def test_a_run_in_order_succeeds_with_counts_and_one_run_completed(
    pool: asyncpg.Pool, run: Any
) -> None:
    assert await handlers.start_run(run.sync_due(Trigger.SCHEDULE), pool=pool) is None
    assert await handlers.record_batch(_first_batch(run), pool=pool) is None
    assert await handlers.record_batch(_second_batch(run), pool=pool) is None
    completed = await handlers.complete_fetch(run.fetch_completed(2, 5, 1, api_calls=3), pool=pool)

    assert completed is not None
    assert completed.event_id == deterministic_id("run-completed", run.run_id)
    assert completed.correlation_id == run.run_id and not completed.auth_failed
    summary = completed.summary.model_dump(mode="json")
    assert summary == await _summary(pool, run.run_id)
    assert summary["state"] == "succeeded" and summary["trigger"] == "schedule"
    assert summary["started_at"].startswith("2026-11-02T09:30:00")
    assert summary["finished_at"] is not None
    assert (summary["total"], summary["new"], summary["updated"], summary["ignored"]) == (5, 1, 1, 3)
    assert summary["deleted"] == 1
    assert summary["ignored_by_reason"] == {
        reason.value: {"role_address": 1, "empty_email": 1, "file_duplicate": 1}.get(reason.value, 0)
        for reason in IgnoreReason
    }
    assert (summary["api_calls"], summary["credits"], summary["error"]) == (3, 9, None)
    [row] = await _outbox(pool)
    assert row["event_id"] == completed.event_id and row["routing_key"] == "run.completed"
    assert row["payload"]["summary"] == summary and row["sent_at"] is None


async def test_batches_before_sync_due_and_fetch_completed_first(pool: asyncpg.Pool, run: Any) -> None:
    assert await handlers.complete_fetch(run.fetch_completed(2, 5, 1), pool=pool) is None
    assert await handlers.record_batch(_second_batch(run), pool=pool) is None
    assert (await _summary(pool, run.run_id))["state"] == "running"
    completed = await handlers.record_batch(_first_batch(run), pool=pool)
    assert completed is not None and completed.summary.state is RunState.SUCCEEDED
    assert (completed.summary.total, completed.summary.deleted) == (5, 1)
    # SyncDue arrives last: the run stays final, but now knows its trigger and true start
    assert await handlers.start_run(run.sync_due(), pool=pool) is None
    summary = await _summary(pool, run.run_id)
    assert summary["state"] == "succeeded" and summary["trigger"] == "manual"
    assert summary["started_at"].startswith("2026-11-02T09:30:00")
    assert len(await _outbox(pool)) == 1


async def test_a_run_waits_for_the_fetch_to_say_how_many_batches(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    assert await handlers.record_batch(_first_batch(run), pool=pool) is None
    assert await handlers.record_batch(_second_batch(run), pool=pool) is None
    assert (await _summary(pool, run.run_id))["state"] == "running"
    completed = await handlers.complete_fetch(run.fetch_completed(2, 5, 1), pool=pool)
    assert completed is not None and completed.summary.total == 5


async def test_the_same_batch_twice_counts_once(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    batch = _first_batch(run)
    await handlers.record_batch(batch, pool=pool)
    await handlers.record_batch(batch, pool=pool)  # redelivery: same event id
    # a re-import of batch 0 published under another event id still counts once
    await handlers.record_batch(batch.model_copy(update={"event_id": deterministic_id("other")}), pool=pool)
    summary = await _summary(pool, run.run_id)
    assert (summary["total"], summary["new"], summary["ignored"]) == (3, 1, 2)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM record_outcomes") == 3
        assert await conn.fetchval("SELECT batches_received FROM runs") == 1


async def test_redelivered_fetch_completed_finishes_the_run_once(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.record_batch(_first_batch(run), pool=pool)
    fetched = run.fetch_completed(1, 3)
    assert await handlers.complete_fetch(fetched, pool=pool) is not None
    assert await handlers.complete_fetch(fetched, pool=pool) is None
    assert len(await _outbox(pool)) == 1


async def test_an_empty_run_succeeds_on_fetch_completed(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    completed = await handlers.complete_fetch(run.fetch_completed(0), pool=pool)
    assert completed is not None and completed.summary.state is RunState.SUCCEEDED
    assert completed.summary.total == 0


async def test_fetch_failed_fails_the_run_with_its_error(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    await handlers.record_batch(_first_batch(run), pool=pool)
    completed = await handlers.fail_fetch(
        run.fetch_failed("token refresh refused", auth_failed=True), pool=pool
    )
    assert completed is not None and completed.auth_failed
    assert completed.summary.state is RunState.FAILED
    assert completed.summary.error == "token refresh refused"
    assert completed.summary.total == 3  # what was imported before the failure stays counted
    assert (completed.summary.api_calls, completed.summary.credits) == (1, 1)
    summary = await _summary(pool, run.run_id)
    assert summary["state"] == "failed" and summary["finished_at"] is not None
    # a batch arriving after the end is ignored: the counts are those RunCompleted reported
    assert await handlers.record_batch(_second_batch(run), pool=pool) is None
    assert await handlers.complete_fetch(run.fetch_completed(2, 5, 1), pool=pool) is None
    assert (await _summary(pool, run.run_id))["total"] == 3
    assert len(await _outbox(pool)) == 1


async def test_message_rejected_fails_the_run_with_its_reason(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    await handlers.complete_fetch(run.fetch_completed(2, 5, 1), pool=pool)
    completed = await handlers.fail_rejected_run(
        run.rejected("cannot read RecordBatch: records: Input should be a valid list"), pool=pool
    )
    assert completed is not None and completed.summary.state is RunState.FAILED
    assert completed.summary.error is not None
    assert "cannot read RecordBatch: records: Input should be a valid list" in completed.summary.error
    assert "importer" in completed.summary.error
    assert completed.summary.sync_id == run.sync_id and not completed.auth_failed


async def test_message_rejected_first_still_fails_the_run(pool: asyncpg.Pool, run: Any) -> None:
    completed = await handlers.fail_rejected_run(run.rejected("broken"), pool=pool)
    assert completed is not None and completed.summary.state is RunState.FAILED
    assert completed.summary.sync_id == ""  # MessageRejected does not say which sync
    await handlers.start_run(run.sync_due(), pool=pool)
    summary = await _summary(pool, run.run_id)
    assert summary["sync_id"] == run.sync_id and summary["state"] == "failed"


async def test_a_rejection_outside_any_run_changes_nothing(pool: asyncpg.Pool, run: Any) -> None:
    rejected = run.rejected("garbage").model_copy(update={"run_id": None})
    assert await handlers.fail_rejected_run(rejected, pool=pool) is None
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM runs") == 0
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 1


async def test_outcome_rows_keep_record_order_and_lowercased_email_key(pool: asyncpg.Pool, run: Any) -> None:
    await handlers.record_batch(_second_batch(run), pool=pool)
    await handlers.record_batch(_first_batch(run), pool=pool)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT seq, position, record_id, email_key FROM record_outcomes ORDER BY 1, 2"
        )
    assert [r["record_id"] for r in rows] == ["1", "2", "3", "4", "5", "9"]
    assert rows[0]["email_key"] == "ann@example.com" and rows[2]["email_key"] is None


def _settling_batches(run: Any) -> list[Any]:
    """Batches as the importer applied them (minutes = the order): jane's record "1" placed her, then
    the more recent "5" took her over; bob's deletion "9" came before his live record "7"."""
    r = run.record
    return [
        run.batch(0, [r("1", "jane@example.com"), r("2", "ann@example.com")], minutes=1),
        run.batch(1, [r("9", "Bob@example.com", DELETED)], minutes=2),
        run.batch(
            2,
            [
                r("5", "JANE@example.com", Outcome.IGNORED, "opt_out"),
                r("6", "ann@example.com", IGNORED, "file_duplicate"),
            ],
            minutes=3,
        ),
        run.batch(3, [r("7", "bob@example.com", Outcome.UNCHANGED)], minutes=4),
    ]


# six of the 24 arrival orders, fixed: each batch comes first once or more, and last once or more
@pytest.mark.parametrize(
    "order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1), (1, 3, 0, 2), (3, 0, 1, 2), (2, 1, 0, 3)]
)
async def test_each_email_keeps_one_outcome_past_check_4_whatever_the_arrival_order(
    pool: asyncpg.Pool, make_run: Any, order: tuple[int, ...]
) -> None:
    run = make_run()
    batches = _settling_batches(run)
    await handlers.start_run(run.sync_due(), pool=pool)
    for index in order:
        await handlers.record_batch(batches[index], pool=pool)
    await handlers.complete_fetch(run.fetch_completed(4, 5, 1), pool=pool)

    summary = await _summary(pool, run.run_id)
    assert summary["state"] == "succeeded"
    counts = {key: summary[key] for key in ("total", "new", "unchanged", "ignored", "deleted")}
    assert counts == {"total": 5, "new": 1, "unchanged": 1, "ignored": 3, "deleted": 0}
    assert summary["ignored_by_reason"]["file_duplicate"] == 2
    assert summary["ignored_by_reason"]["opt_out"] == 1
    async with pool.acquire() as conn:
        records = await store.run_records(conn, run.run_id, None, None, 0)
    assert [(r["record_id"], r["outcome"], r["reason"]) for r in records] == [
        ("1", "ignored", "file_duplicate"),
        ("2", "new", None),
        ("5", "ignored", "opt_out"),
        ("6", "ignored", "file_duplicate"),
        ("7", "unchanged", None),
    ]
