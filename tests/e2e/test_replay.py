"""``recruit-sync replay RUN_ID [--dry-run]`` and ``sync preview``, on the three-importer case of
test_import_order.py (batches of seven, duplicates straddling batches, so the supersessions between
batches are counted and decided again too).

``replay`` reads a finished run's events back from the journal and adds them up to what history
recorded; ``--dry-run`` decides its batches again against the store as the run found it and names every
record decided otherwise; ``sync preview`` says what a run would do, and the run that follows does it.
(Every e2e stack also dry-runs each of its finished runs when it stops: ``Stack.stop``.)"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack, counts_of

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
    for args in (("replay", "no-such-run"), ("replay", "no-such-run", "--dry-run")):
        result = stack.run(*args, check=False)
        assert result.returncode == 1
        assert result.stderr.splitlines() == ["error: no run 'no-such-run'"]


def test_a_dry_run_of_the_three_replica_run_reproduces_run_after_run(
    stack: Stack, finished_run: dict[str, Any]
) -> None:
    for _ in range(2):
        began = time.monotonic()
        dry = stack.json("replay", finished_run["run_id"], "--dry-run")
        print(f"dry run took {time.monotonic() - began:.2f} s")
        assert (dry["differences"], dry["differences_total"]) == ([], 0)
        assert dry["recorded"] == dry["replayed"] == counts_of(finished_run)
        assert dry["batches"] == -(-finished_run["total"] // 7)
    out = stack.run("replay", finished_run["run_id"], "--dry-run").stdout
    assert out.rstrip().endswith("reproduces: 0 differences")


def test_a_run_reproduces_after_later_runs_changed_what_it_found(
    stack: Stack, finished_run: dict[str, Any]
) -> None:
    stack.json("suppress", "add", "--reason", "do_not_mail", "dup4@order.example")
    renamed = {"id": "400001", "Email": "dup14@order.example", "First_Name": "Renamed",
               "Last_Name": "Email14", "Updated_On": "2031-01-01T00:00:00Z"}  # fmt: skip
    stack.sim("POST", "/_sim/records/Candidates", [renamed])
    later = stack.run_sync(finished_run["sync_id"], full=True)
    assert later["state"] == "succeeded"
    assert later["ignored_by_reason"]["do_not_mail"] >= 1 and later["updated"] >= 1
    for summary in (finished_run, later):
        dry = stack.json("replay", summary["run_id"], "--dry-run")
        assert dry["differences"] == [], dry["differences"]
        assert dry["recorded"] == dry["replayed"] == counts_of(summary)


def test_a_dry_run_goes_on_beside_a_run_in_flight(stack: Stack, finished_run: dict[str, Any]) -> None:
    other = stack.create_sync({"name": "Beside", "connection": "acme-recruit", "list": "Beside"})
    started = stack.json("sync", "run", other)
    dry = stack.json("replay", finished_run["run_id"], "--dry-run")
    assert dry["differences"] == []
    summary = stack.json("runs", "wait", started["run_id"]) if False else None
    summary = stack.run_sync(other)  # the run in flight, waited for (or its successor, equally)
    assert summary["state"] == "succeeded"


def test_a_rule_change_shows_as_the_records_it_changes(stack: Stack, finished_run: dict[str, Any]) -> None:
    """A new role word: the run's dup9@ records, one placed and its file duplicates, are now refused."""
    expected = {
        (r["record_id"], r["outcome"], r["reason"])
        for r in stack.json("runs", "records", finished_run["run_id"])
        if (r["email"] or "").lower() == "dup9@order.example"  # (one of them spelt DUP9@ORDER.EXAMPLE)
    }
    assert len(expected) == 3 and any(outcome == "new" for _, outcome, _ in expected)
    stack.restart_services(RECRUIT_SYNC_EXTRA_ROLE_WORDS="dup9")
    try:
        dry = stack.json("replay", finished_run["run_id"], "--dry-run")
    finally:
        stack.restart_services(RECRUIT_SYNC_EXTRA_ROLE_WORDS=None)
    found = {(d["record_id"], d["recorded"], d["recorded_reason"]) for d in dry["differences"]}
    assert found == expected
    assert {(d["email"].lower(), d["replayed"], d["replayed_reason"]) for d in dry["differences"]} == {
        ("dup9@order.example", "ignored", "role_address")
    }
    assert dry["replayed"]["ignored_by_reason"]["role_address"] == (
        dry["recorded"]["ignored_by_reason"]["role_address"] + 3
    )
    assert stack.json("replay", finished_run["run_id"], "--dry-run")["differences"] == []  # rule undone


def _untouched(stack: Stack, sync_id: str) -> dict[str, Any]:
    """What a preview must leave as it is: the sync's runs and watermark, the lists, the sim's records."""
    detail = stack.json("sync", "show", sync_id)
    lists = stack.json("list", "all")
    return {
        "runs": stack.json("runs", "list", sync_id),
        "watermark": (detail["last_retrieval_at"], detail["run_in_flight"], detail["next_due_at"]),
        "lists": lists,
        "members": {
            row["name"]: stack.json("list", "members", row["name"]) for row in stack.json("list", "all")
        },
    }


def test_a_preview_writes_nothing_and_the_next_run_does_what_it_said(stack: Stack) -> None:
    sync_id = stack.create_sync({"name": "Previewed", "connection": "acme-recruit", "list": "Previewed"})
    before = _untouched(stack, sync_id)
    calls_before = stack.sim("GET", "/_sim/stats")["calls"]
    preview = stack.json("sync", "preview", sync_id)
    calls = stack.sim("GET", "/_sim/stats")["calls"] - calls_before
    assert _untouched(stack, sync_id) == before
    assert "Previewed" not in [row["name"] for row in before["lists"]]

    summary = stack.run_sync(sync_id)
    assert preview["summary"] == counts_of(summary)
    assert calls == preview["api_calls"] > 0  # what Recruit saw is what the preview says it spent
    # the same pages as the run; the module list is cached per fetcher process, so one call may differ
    assert abs(preview["api_calls"] - summary["api_calls"]) <= 1
    assert preview["credits"] - preview["api_calls"] == summary["credits"] - summary["api_calls"]
    samples = preview["samples"]
    assert len(samples["new"]) == min(20, summary["new"]) and len(samples["ignored"]) == min(
        20, summary["ignored"]
    )
    records = {r["record_id"]: r for r in stack.json("runs", "records", summary["run_id"])}
    for outcome, items in samples.items():
        for sample in items:
            record = records[sample["record_id"]]  # each sample is what the run did to that record
            assert (record["outcome"], record["email"], record["reason"]) == (
                outcome,
                sample["email"],
                sample["reason"],
            )

    # nothing changed since: the preview of the incremental run says so, and so does the run
    again = stack.json("sync", "preview", sync_id)
    assert again["summary"] == counts_of(stack.run_sync(sync_id))


def test_a_spec_is_previewed_before_it_exists(stack: Stack, tmp_path: Path) -> None:
    spec = {
        "name": "Only Globex",
        "connection": "acme-recruit",
        "list": "Globex people",
        "selection": {"kind": "criteria", "conditions": [
            {"field": "Current_Employer", "operator": "equals", "value": "Globex"}]},
    }  # fmt: skip
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    preview = stack.json("sync", "preview", "--file", str(path))
    assert "Globex people" not in [row["name"] for row in stack.json("list", "all")]
    assert "Only Globex" not in [s["name"] for s in stack.json("sync", "list")]
    summary = stack.run_sync(stack.create_sync(spec))
    assert preview["summary"] == counts_of(summary) and summary["total"] > 0
    text = stack.run("sync", "preview", "--file", str(path)).stdout
    assert "api calls:" in text and "new" in text


def test_a_bad_preview_is_one_error_line(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x", "connection": "nowhere", "list": "x"}))
    result = stack.run("sync", "preview", "--file", str(path), check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["error: connection: no connection named 'nowhere'"]
    result = stack.run("sync", "preview", "no-such-sync", check=False)
    assert result.returncode == 1 and "no-such-sync" in result.stderr
