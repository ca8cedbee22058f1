"""Flow control per run (flow.py): a run's fetch waits while ``ahead`` of its batches are unimported,
learns of imports by message id alone, and never waits longer than its patience."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
import structlog

from recruit_sync.contracts.events import FetchCompleted, RecordBatch, SyncDue, caused_by
from recruit_sync.contracts.ids import batch_imported_id
from recruit_sync.fetcher.flow import FlowControl, ahead_from_env

RUN = "run-1"
Batch = Callable[[str, int], RecordBatch]


@pytest.fixture
def make_batch(make_due: Callable[..., SyncDue]) -> Batch:
    def batch(run_id: str, seq: int) -> RecordBatch:
        due = make_due(run_id=run_id)
        return RecordBatch(**caused_by(due), seq=seq, module="Candidates", settings=due.settings, records=[])

    return batch


async def _publish_all(
    flow: FlowControl, make_batch: Batch, run_id: str, count: int, sent: list[int]
) -> None:
    async with flow.run(run_id) as window:
        for seq in range(count):
            await flow.before_publish(window, make_batch(run_id, seq))
            sent.append(seq)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_run_publishes_no_more_than_ahead_batches_before_their_import(make_batch: Batch) -> None:
    flow = FlowControl(ahead=2, patience=30)
    sent: list[int] = []
    fetch = asyncio.create_task(_publish_all(flow, make_batch, RUN, 5, sent))
    await _settle()
    assert sent == [0, 1]  # the third waits
    assert flow.batches_in_flight == 2

    flow.imported(str(batch_imported_id(RUN, 1)))  # in any order
    await _settle()
    assert sent == [0, 1, 2]
    flow.imported(str(batch_imported_id(RUN, 1)))  # a republished event changes nothing
    await _settle()
    assert sent == [0, 1, 2]

    for seq in (0, 2, 3):
        flow.imported(str(batch_imported_id(RUN, seq)))
        await _settle()
    await asyncio.wait_for(fetch, 1)
    assert sent == [0, 1, 2, 3, 4]
    assert flow.batches_in_flight == 0  # the finished fetch forgot its last batch


async def test_imports_of_other_runs_and_unreadable_ids_move_nothing(make_batch: Batch) -> None:
    flow = FlowControl(ahead=1, patience=30)
    sent: list[int] = []
    fetch = asyncio.create_task(_publish_all(flow, make_batch, RUN, 2, sent))
    await _settle()
    for message_id in (str(batch_imported_id("another-run", 0)), "not-a-uuid", None, "", str(uuid.uuid4())):
        flow.imported(message_id)
    await _settle()
    assert sent == [0]
    flow.imported(str(batch_imported_id(RUN, 0)))
    await asyncio.wait_for(fetch, 1)
    assert sent == [0, 1]


async def test_a_run_waiting_longer_than_its_patience_goes_on_without_a_bound(make_batch: Batch) -> None:
    flow = FlowControl(ahead=1, patience=0.05)
    sent: list[int] = []
    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(_publish_all(flow, make_batch, RUN, 4, sent), 2)
    assert sent == [0, 1, 2, 3]
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1, logs  # once: the window stays open
    assert warnings[0]["batches_in_flight"] == 1


async def test_no_bound_and_other_events_pass_at_once(make_batch: Batch) -> None:
    flow = FlowControl(ahead=0, patience=30)
    sent: list[int] = []
    await asyncio.wait_for(_publish_all(flow, make_batch, RUN, 50, sent), 1)
    assert len(sent) == 50

    bounded = FlowControl(ahead=1, patience=30)
    async with bounded.run(RUN) as window:
        await bounded.before_publish(window, make_batch(RUN, 0))
        first = make_batch(RUN, 0)
        completed = FetchCompleted(
            **caused_by(first),
            batch_count=1,
            record_count=0,
            deleted_count=0,
            api_calls=1,
            credits=1,
            started_at=first.occurred_at,
        )
        await asyncio.wait_for(bounded.before_publish(window, completed), 1)


async def test_two_runs_have_a_window_each(make_batch: Batch) -> None:
    flow = FlowControl(ahead=1, patience=30)
    sent_a: list[int] = []
    sent_b: list[int] = []
    fetch_a = asyncio.create_task(_publish_all(flow, make_batch, "run-a", 2, sent_a))
    fetch_b = asyncio.create_task(_publish_all(flow, make_batch, "run-b", 2, sent_b))
    await _settle()
    assert (sent_a, sent_b) == ([0], [0])
    flow.imported(str(batch_imported_id("run-b", 0)))
    await asyncio.wait_for(fetch_b, 1)
    assert (sent_a, sent_b) == ([0], [0, 1])
    fetch_a.cancel()


def test_the_bound_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_BATCHES_AHEAD", "3")
    assert ahead_from_env() == 3
    monkeypatch.setenv("RECRUIT_SYNC_BATCHES_AHEAD", "-1")
    with pytest.raises(ValueError, match="RECRUIT_SYNC_BATCHES_AHEAD"):
        ahead_from_env()
