"""Flow control per run (flow.py): a run's fetch waits while ``ahead`` of its batches are unimported,
learns of imports by message id alone, and never waits longer than its patience."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import structlog

from recruit_sync.contracts.ids import batch_imported_id
from recruit_sync.fetcher.flow import FlowControl
from recruit_sync.runtime.settings import Settings

RUN = "run-1"


async def _publish_all(flow: FlowControl, run_id: str, count: int, sent: list[int]) -> None:
    async with flow.run(run_id) as window:
        for seq in range(count):
            await flow.room_for(window, seq)
            sent.append(seq)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_run_publishes_no_more_than_ahead_batches_before_their_import() -> None:
    flow = FlowControl(ahead=2, patience=30)
    sent: list[int] = []
    fetch = asyncio.create_task(_publish_all(flow, RUN, 5, sent))
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


async def test_imports_of_other_runs_and_unreadable_ids_move_nothing() -> None:
    flow = FlowControl(ahead=1, patience=30)
    sent: list[int] = []
    fetch = asyncio.create_task(_publish_all(flow, RUN, 2, sent))
    await _settle()
    for message_id in (str(batch_imported_id("another-run", 0)), "not-a-uuid", None, "", str(uuid.uuid4())):
        flow.imported(message_id)
    await _settle()
    assert sent == [0]
    flow.imported(str(batch_imported_id(RUN, 0)))
    await asyncio.wait_for(fetch, 1)
    assert sent == [0, 1]


async def test_a_run_waiting_longer_than_its_patience_goes_on_without_a_bound() -> None:
    flow = FlowControl(ahead=1, patience=0.05)
    sent: list[int] = []
    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(_publish_all(flow, RUN, 4, sent), 2)
    assert sent == [0, 1, 2, 3]
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1, logs  # once: the window stays open
    assert warnings[0]["batches_in_flight"] == 1


async def test_no_bound_and_a_batch_made_again_counts_once() -> None:
    flow = FlowControl(ahead=0, patience=30)
    sent: list[int] = []
    await asyncio.wait_for(_publish_all(flow, RUN, 50, sent), 1)
    assert len(sent) == 50

    bounded = FlowControl(ahead=2, patience=30)
    async with bounded.run(RUN) as window:
        await bounded.room_for(window, 0)
        await asyncio.wait_for(bounded.room_for(window, 0), 1)  # the same batch again (a retry)
        assert bounded.batches_in_flight == 1


async def test_two_runs_have_a_window_each() -> None:
    flow = FlowControl(ahead=1, patience=30)
    sent_a: list[int] = []
    sent_b: list[int] = []
    fetch_a = asyncio.create_task(_publish_all(flow, "run-a", 2, sent_a))
    fetch_b = asyncio.create_task(_publish_all(flow, "run-b", 2, sent_b))
    await _settle()
    assert (sent_a, sent_b) == ([0], [0])
    flow.imported(str(batch_imported_id("run-b", 0)))
    await asyncio.wait_for(fetch_b, 1)
    assert (sent_a, sent_b) == ([0], [0, 1])
    fetch_a.cancel()


def test_the_bound_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_BATCHES_AHEAD", "3")
    assert Settings.from_env().batches_ahead == 3
    monkeypatch.setenv("RECRUIT_SYNC_BATCHES_AHEAD", "-1")
    with pytest.raises(ValueError, match="RECRUIT_SYNC_BATCHES_AHEAD"):
        Settings.from_env()
