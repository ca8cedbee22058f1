"""Flow control per run and runs side by side (docs/adr/0023), through the real services.

A fetcher makes a batch (its ``occurred_at``) only once the imports it waited for were reported, and
an importer stamps a BatchImported before it publishes it: so, by the events' own times (one clock,
this machine's), the batches of a run made before each moment and the imports stamped before it say
how many of its batches were in flight. (The journal's order would not: events of two publishers
reach the stream in either order.)
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from recruit_sync.contracts import topology
from tests.e2e.stack import JournalEntry, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GENERATED = 3000
BATCH_SIZE = 100
AHEAD = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"RECRUIT_SYNC_BATCH_SIZE": str(BATCH_SIZE), "RECRUIT_SYNC_BATCHES_AHEAD": str(AHEAD)}
    with Stack(tmp_path_factory.mktemp("stack"), sim_generate=GENERATED, extra_env=env) as running:
        running.add_connection()
        yield running


def run_events(stack: Stack, run_id: str) -> list[JournalEntry]:
    """The run's events in the journal, once its RunCompleted is there (the stream's message count,
    which the reader goes by, is updated a moment after the events arrive)."""
    deadline = time.monotonic() + 30
    while True:
        events = [entry for entry in stack.journal() if entry.correlation_id == run_id]
        if (
            any(entry.routing_key == topology.RUN_COMPLETED for entry in events)
            or time.monotonic() > deadline
        ):
            return events
        time.sleep(0.5)


def _at(entry: JournalEntry) -> datetime:
    return datetime.fromisoformat(entry.event()["occurred_at"])


def most_in_flight(stack: Stack, run_id: str) -> int:
    """The most batches of the run made and not yet imported at once: when each batch was made, how
    many of the run's batches had been made and how many imports stamped before it."""
    events = run_events(stack, run_id)
    made = sorted(_at(e) for e in events if e.routing_key == topology.RECORD_BATCH)
    imported = sorted(_at(e) for e in events if e.routing_key == topology.BATCH_IMPORTED)
    assert len(made) == len(imported) > AHEAD, (len(made), len(imported))
    return max(n + 1 - bisect.bisect_left(imported, at) for n, at in enumerate(made))


def test_a_runs_fetch_stays_within_its_bound_of_batches_ahead_of_the_import(stack: Stack) -> None:
    sync_id = stack.create_sync({"name": "Bounded", "connection": "acme-recruit", "list": "Bounded list"})
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", summary
    assert summary["total"] == GENERATED
    # the fetcher (a page of 200 in 1 ms) outruns the importer: the bound is reached, never passed
    assert most_in_flight(stack, summary["run_id"]) == AHEAD


def test_a_small_sync_started_beside_big_ones_is_not_queued_behind_them(stack: Stack) -> None:
    """Runs are fetched side by side (eight per fetcher process), each kept to its window: a small sync
    started while three big ones fetch from a slow Recruit finishes before any of them."""
    stack.sim("POST", "/_sim/records/Contacts", [{"Email": f"small.{i}@side.example"} for i in range(5)])
    big = [
        stack.create_sync({"name": f"Big {i}", "connection": "acme-recruit", "list": f"Big list {i}"})
        for i in range(3)
    ]
    small = stack.create_sync(
        {"name": "Small", "connection": "acme-recruit", "module": "Contacts", "list": "Small list"}
    )
    stack.sim("POST", "/_sim/faults", {"delay": 0.15, "count": 100_000})  # 15 pages: >2 s a big run
    finished: dict[str, tuple[float, dict[str, Any]]] = {}

    def run(sync_id: str) -> None:
        summary = stack.run_sync(sync_id, timeout=600)
        finished[sync_id] = (time.monotonic(), summary)

    try:
        threads = [threading.Thread(target=run, args=(sync_id,)) for sync_id in big]
        for thread in threads:
            thread.start()
        time.sleep(1.0)  # the big runs are fetching
        run(small)
        for thread in threads:
            thread.join()
    finally:
        stack.sim("DELETE", "/_sim/faults")
    assert {summary["state"] for _, summary in finished.values()} == {"succeeded"}
    assert finished[small][1]["total"] == 5
    assert all(finished[sync_id][1]["total"] == GENERATED for sync_id in big)
    assert finished[small][0] < min(finished[sync_id][0] for sync_id in big)
