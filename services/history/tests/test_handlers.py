"""Run events applied in any order and any number of times, on the real database."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.events import (
    BatchImported,
    Displacement,
    IgnoreReason,
    Outcome,
    RunState,
    Trigger,
    read_event,
)
from recruit_sync.contracts.ids import deterministic_id, run_completed_id
from recruit_sync.history import handlers
from recruit_sync.history.store.outcomes import outcomes_for_email, run_records
from recruit_sync.history.store.runs import get_run, summary_of

pytestmark = pytest.mark.integration

NEW, IGNORED, DELETED = Outcome.NEW, Outcome.IGNORED, Outcome.DELETED
FILE_DUPLICATE, VOID = Displacement.FILE_DUPLICATE, Displacement.VOID


def _first_batch(run: Any) -> Any:
    return run.batch(
        0,
        [
            run.record("1", "Ann@Example.com", NEW),
            run.record("2", "info@example.com", IGNORED, IgnoreReason.ROLE_ADDRESS),
            run.record("3", None, IGNORED, IgnoreReason.EMPTY_EMAIL),
        ],
    )


def _second_batch(run: Any) -> Any:
    return run.batch(
        1,
        [
            run.record("4", "bob@example.com", Outcome.UPDATED),
            run.record("5", "bob@example.com", IGNORED, IgnoreReason.FILE_DUPLICATE),
            run.record("9", None, DELETED),
        ],
    )


async def _summary(pool: asyncpg.Pool, run_id: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await get_run(conn, run_id)
    assert row is not None
    return summary_of(row).model_dump(mode="json")


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
    assert completed.event_id == run_completed_id(run.run_id)
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
        assert await conn.fetchval("SELECT count(*) FROM batch_outcomes") == 1
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


async def test_a_rejection_naming_a_run_history_does_not_know_creates_no_run(
    pool: asyncpg.Pool, run: Any
) -> None:
    # e.g. a poison message published by hand: FastStream gave it a random correlation id (issue 10)
    assert await handlers.fail_rejected_run(run.rejected("broken"), pool=pool) is None
    assert await handlers.fail_rejected_run(run.rejected("broken"), pool=pool) is None
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM runs") == 0
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 2


async def test_a_rejection_outside_any_run_changes_nothing(pool: asyncpg.Pool, run: Any) -> None:
    rejected = run.rejected("garbage").model_copy(update={"run_id": None})
    assert await handlers.fail_rejected_run(rejected, pool=pool) is None
    assert await handlers.fail_rejected_run(rejected, pool=pool) is None  # redelivered
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM runs") == 0
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 1


async def test_a_rejection_finds_a_run_whose_first_event_is_being_recorded(
    pool: asyncpg.Pool, run: Any
) -> None:
    """The run's row is inserted but not committed yet: the rejection waits for it and fails the run."""
    async with pool.acquire() as first, first.transaction():
        await first.execute("INSERT INTO runs (run_id, sync_id) VALUES ($1, $2)", run.run_id, run.sync_id)
        rejecting = asyncio.create_task(handlers.fail_rejected_run(run.rejected("broken"), pool=pool))
        await asyncio.sleep(0.3)  # the rejection is waiting on the uncommitted row (asserted next)
        assert not rejecting.done()
    completed = await rejecting
    assert completed is not None and completed.summary.state is RunState.FAILED
    assert completed.summary.sync_id == run.sync_id


async def test_outcomes_keep_record_order_and_are_found_by_their_email_key(
    pool: asyncpg.Pool, run: Any
) -> None:
    await handlers.record_batch(_second_batch(run), pool=pool)
    await handlers.record_batch(_first_batch(run), pool=pool)
    assert [record_id for record_id, _, _ in await _records(pool, run.run_id)] == [
        "1",
        "2",
        "3",
        "4",
        "5",
        "9",
    ]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM batch_outcomes") == 2
        for spelling in ("ann@example.com", " ANN@EXAMPLE.COM", "Ann@Example.com"):
            [found] = await outcomes_for_email(conn, spelling)
            assert (found.run_id, found.sync_id, found.outcome.record_id) == (run.run_id, run.sync_id, "1")
        assert [o.outcome.record_id for o in await outcomes_for_email(conn, "bob@example.com")] == ["4", "5"]
        assert await outcomes_for_email(conn, "carol@example.com") == []
        assert await outcomes_for_email(conn, "  ") == []


async def _records(pool: asyncpg.Pool, run_id: str) -> list[tuple[str | None, str, str | None]]:
    """(record id, outcome, reason as ``runs records`` shows it), in record order."""
    async with pool.acquire() as conn:
        items = await run_records(conn, run_id, None, None, 0)
    return [(item.record_id, item.outcome.value, item.reason_text) for item in items]


async def _waiting(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM superseded")
    return count


def _displacing_batches(run: Any) -> list[BatchImported]:
    """Three batches as the importer applied them, in seq order, each naming what it displaced:
    jane's record "1" placed her, the more recent "4" took her over and "7", more recent still, took her
    from "4" and was refused (opt_out); bob's deletion "3" was undone by his live record "5"; ann's "8"
    is older than "2" and displaced nothing."""
    r, d = run.record, run.displaces
    return [
        run.batch(
            0, [r("1", "jane@example.com"), r("2", "ann@example.com"), r("3", "bob@example.com", DELETED)]
        ),
        run.batch(
            1,
            [
                r("4", "Jane@Example.com", Outcome.UPDATED),
                r("5", "bob@example.com", Outcome.UNCHANGED),
                r("6", "c@x.com"),
            ],
            superseded=[d(0, 0, by=0, becomes=FILE_DUPLICATE), d(0, 2, by=1, becomes=VOID)],
        ),
        run.batch(
            2,
            [
                r("7", "jane@example.com", IGNORED, IgnoreReason.OPT_OUT),
                r("8", "ann@example.com", IGNORED, IgnoreReason.FILE_DUPLICATE),
                r("9", None, IGNORED, IgnoreReason.MALFORMED, "Email is a number"),
            ],
            superseded=[d(1, 0, by=0, becomes=FILE_DUPLICATE)],
        ),
    ]


DISPLACED_RECORDS = [
    ("1", "ignored", "file_duplicate"),
    ("2", "new", None),
    ("4", "ignored", "file_duplicate"),
    ("5", "unchanged", None),
    ("6", "new", None),
    ("7", "ignored", "opt_out"),
    ("8", "ignored", "file_duplicate"),
    ("9", "ignored", "malformed: Email is a number"),
]


def _assert_displaced_counts(summary: dict[str, Any]) -> None:
    counts = {key: summary[key] for key in ("total", "new", "updated", "unchanged", "ignored", "deleted")}
    assert counts == {"total": 8, "new": 2, "updated": 0, "unchanged": 1, "ignored": 5, "deleted": 0}
    assert {reason: n for reason, n in summary["ignored_by_reason"].items() if n} == {
        "file_duplicate": 3,
        "opt_out": 1,
        "malformed": 1,
    }


async def test_a_supersession_that_comes_before_its_batch_is_applied_when_the_batch_arrives(
    pool: asyncpg.Pool, run: Any
) -> None:
    first, second, third = _displacing_batches(run)
    await handlers.record_batch(third, pool=pool)  # names outcome 0 of batch 1, not in yet
    assert await _waiting(pool) == 1
    assert ("7", "ignored", "opt_out") in await _records(pool, run.run_id)

    await handlers.record_batch(second, pool=pool)  # the awaited batch; names two of batch 0, not in yet
    assert await _waiting(pool) == 2
    records = await _records(pool, run.run_id)
    assert ("4", "ignored", "file_duplicate") in records and ("5", "unchanged", None) in records
    summary = await _summary(pool, run.run_id)
    assert (summary["updated"], summary["ignored_by_reason"]["file_duplicate"]) == (0, 2)

    await handlers.complete_fetch(run.fetch_completed(3, 8, 1), pool=pool)
    completed = await handlers.record_batch(first, pool=pool)
    assert await _waiting(pool) == 0
    assert await _records(pool, run.run_id) == DISPLACED_RECORDS
    assert completed is not None and completed.summary.state is RunState.SUCCEEDED
    _assert_displaced_counts(completed.summary.model_dump(mode="json"))


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_every_arrival_order_gives_the_same_outcomes_and_counts(
    pool: asyncpg.Pool, make_run: Any, order: tuple[int, ...]
) -> None:
    run = make_run()
    batches = _displacing_batches(run)
    await handlers.start_run(run.sync_due(), pool=pool)
    await handlers.complete_fetch(run.fetch_completed(3, 8, 1), pool=pool)
    for index in order:
        await handlers.record_batch(batches[index], pool=pool)

    summary = await _summary(pool, run.run_id)
    assert summary["state"] == "succeeded"
    _assert_displaced_counts(summary)
    assert await _records(pool, run.run_id) == DISPLACED_RECORDS
    assert await _waiting(pool) == 0


async def test_a_redelivered_or_reimported_batch_changes_nothing(pool: asyncpg.Pool, run: Any) -> None:
    first, second, third = _displacing_batches(run)
    await handlers.record_batch(second, pool=pool)
    again = second.model_copy(update={"event_id": deterministic_id("re-import", run.run_id, 1)})
    await handlers.record_batch(second, pool=pool)  # redelivery: the inbox stops it
    await handlers.record_batch(again, pool=pool)  # re-import: the batch is already in
    assert await _waiting(pool) == 2  # its supersessions still wait once each
    assert (await _summary(pool, run.run_id))["total"] == 3

    await handlers.record_batch(first, pool=pool)
    await handlers.record_batch(third, pool=pool)
    before = (await _records(pool, run.run_id), await _summary(pool, run.run_id))
    for batch in (first, second, third):
        assert await handlers.record_batch(batch, pool=pool) is None
        reimported = batch.model_copy(
            update={"event_id": deterministic_id("re-import", run.run_id, batch.seq)}
        )
        assert await handlers.record_batch(reimported, pool=pool) is None
    assert (await _records(pool, run.run_id), await _summary(pool, run.run_id)) == before
    _assert_displaced_counts(before[1])
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT batches_received FROM runs") == 3


async def test_a_version_1_batch_is_read_and_recorded_with_typed_reasons(
    pool: asyncpg.Pool, run: Any
) -> None:
    body = run.batch_v1(
        0,
        [
            {"record_id": "1", "email": "a@example.com", "outcome": "new", "reason": None},
            {"record_id": "2", "email": "b@example.com", "outcome": "ignored", "reason": "do_not_mail"},
            {"record_id": "3", "email": None, "outcome": "ignored", "reason": "malformed: Email is a number"},
            {"record_id": None, "email": None, "outcome": "ignored", "reason": "record is not an object"},
        ],
    )
    event = read_event(body, "batch.imported")
    assert isinstance(event, BatchImported) and event.superseded == []
    await handlers.record_batch(event, pool=pool)
    completed = await handlers.complete_fetch(run.fetch_completed(1, 4), pool=pool)

    assert await _records(pool, run.run_id) == [
        ("1", "new", None),
        ("2", "ignored", "do_not_mail"),
        ("3", "ignored", "malformed: Email is a number"),
        (None, "ignored", "malformed: record is not an object"),
    ]
    assert completed is not None and completed.summary.total == 4
    assert completed.summary.ignored_by_reason[IgnoreReason.MALFORMED] == 2
    assert completed.summary.ignored_by_reason[IgnoreReason.DO_NOT_MAIL] == 1
