"""``recruit-sync replay RUN_ID``: a finished run's events read back from the journal add up to what
history recorded, on the three-importer case of test_import_order.py (batches of seven, duplicates
straddling batches, so the supersessions between batches are counted again too)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parent / "data" / "import_order.json"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("replay")
    extra_env = {"RECRUIT_SYNC_BATCH_SIZE": "7"}
    with Stack(workdir, sim_data=str(DATA), replicas=3, extra_env=extra_env) as running:
        running.add_connection()
        yield running


@pytest.fixture(scope="module")
def finished_run(stack: Stack) -> dict[str, Any]:
    sync_id = stack.create_sync({"name": "Replayed", "connection": "acme-recruit", "list": "Replayed"})
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", (summary, stack.logs()[-4000:])
    return summary


def test_replay_lists_every_event_of_the_run_and_matches_history(
    stack: Stack, finished_run: dict[str, Any]
) -> None:
    began = time.monotonic()
    replay = stack.json("replay", finished_run["run_id"])
    print(f"replay took {time.monotonic() - began:.2f} s")
    assert (replay["matches_history"], replay["differences"]) == (True, [])
    assert replay["run_id"] == finished_run["run_id"]
    assert replay["journal_summary"] == {key: finished_run[key] for key in replay["journal_summary"]}
    assert finished_run["ignored_by_reason"]["file_duplicate"] > 0  # displaced across batches

    events = replay["events"]
    batches = -(-finished_run["total"] // 7)
    assert Counter(e["type"] for e in events) == {
        "sync.due": 1,
        "record.batch": batches,
        "batch.imported": batches,
        "fetch.completed": 1,
        "run.completed": 1,
    }
    assert (events[0]["type"], events[-1]["type"]) == ("sync.due", "run.completed")
    records = sum(e["records"] for e in events if e["type"] == "record.batch")
    assert records == finished_run["total"] == events[-1]["records"]


def test_the_table_form_lists_the_events_and_the_verdict(stack: Stack, finished_run: dict[str, Any]) -> None:
    out = stack.run("replay", finished_run["run_id"]).stdout
    assert out.count("batch.imported") == -(-finished_run["total"] // 7)
    assert "fetch.completed" in out and out.rstrip().endswith("matches history")


def test_an_unknown_run_is_one_error_line(stack: Stack) -> None:
    result = stack.run("replay", "no-such-run", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["error: no run 'no-such-run'"]
    assert "--dry-run" not in stack.run("replay", "--help").stdout  # a later capability
