"""Scheduling on the real stack: three scheduler replicas, once syncs, next due times, incremental
retrieval windows and the daily credit budget, driven through the CLI."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parent / "data"
MAX_AGE_DAYS = 10  # RECRUIT_SYNC_RETRIEVAL_MAX_AGE_DAYS for this stack, instead of the default 30
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Three processes of every service, so three schedulers tick against one database."""
    with Stack(
        tmp_path_factory.mktemp("stack"),
        sim_data=str(DATA / "small.json"),
        replicas=3,
        extra_env={"RECRUIT_SYNC_RETRIEVAL_MAX_AGE_DAYS": str(MAX_AGE_DAYS)},
    ) as running:
        running.add_connection()
        yield running


def spec(name: str, **extra: Any) -> dict[str, Any]:
    unique = f"{name} {uuid.uuid4().hex[:6]}"
    return {"name": unique, "connection": "acme-recruit", "module": "Candidates", "list": unique, **extra}


def eventually(check: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


# three scheduler replicas -----------------------------------------------------------------------------------


def log_events(stack: Stack, event: str) -> list[tuple[str, dict[str, Any]]]:
    """(process, fields) of every JSON log line named ``event``, from the whole services log."""
    found = []
    for line in (stack.workdir / "services.log").read_text(errors="replace").splitlines():
        process, _, rest = line.partition(" | ")
        if rest.startswith("{") and f'"event": "{event}"' in rest:
            found.append((process.strip(), json.loads(rest)))
    return found


@pytest.fixture(scope="module")
def once_syncs(stack: Stack) -> list[str]:
    """Syncs scheduled ``once`` without a time: due as soon as they exist, for all three schedulers."""
    ids = [stack.create_sync(spec(f"once {i}", schedule={"kind": "once"})) for i in range(6)]

    def all_completed() -> bool:
        states = {s["id"]: s["state"] for s in stack.json("sync", "list")}
        return all(states[sync_id] == "completed" for sync_id in ids)

    eventually(all_completed, "every once sync to complete")
    return ids


def test_three_schedulers_emit_each_due_run_once(stack: Stack, once_syncs: list[str]) -> None:
    for sync_id in once_syncs:
        runs = stack.json("runs", "list", sync_id)
        assert [(r["trigger"], r["state"]) for r in runs] == [("schedule", "succeeded")], runs
    journaled = [entry.event() for entry in stack.journal("sync.due")]
    assert Counter(e["sync_id"] for e in journaled) == dict.fromkeys(once_syncs, 1)
    fetched = Counter(fields["sync_id"] for _, fields in log_events(stack, "fetch started"))
    assert fetched == dict.fromkeys(once_syncs, 1)
    emitted = log_events(stack, "due runs emitted")
    assert sum(fields["count"] for _, fields in emitted) == len(once_syncs)
    assert {process for process, _ in emitted} <= {"scheduler-1", "scheduler-2", "scheduler-3"}


def test_a_once_sync_runs_by_itself_and_completes(stack: Stack, once_syncs: list[str]) -> None:
    shown = stack.json("sync", "show", once_syncs[0])
    assert (shown["state"], shown["state_reason"], shown["next_due_at"]) == ("completed", None, None)
    assert shown["last_retrieval_kind"] == "full" and shown["last_retrieval_at"] is not None
    [run] = stack.json("runs", "list", once_syncs[0])
    assert (run["total"], run["new"] + run["duplicate"] + run["unchanged"]) == (16, 8)


def test_next_due_at_is_shown_in_the_syncs_zone(stack: Stack) -> None:
    schedule = {"kind": "weekly", "weekday": "monday", "at": "09:30", "timezone": "Asia/Kolkata"}
    sync_id = stack.create_sync(spec("weekly", schedule=schedule))
    due = datetime.fromisoformat(stack.json("sync", "show", sync_id)["next_due_at"])
    assert due.utcoffset() == timedelta(hours=5, minutes=30)
    assert (due.strftime("%A %H:%M"), due > datetime.now(UTC)) == ("Monday 09:30", True)
    assert due - datetime.now(UTC) <= timedelta(days=7)
    human = stack.run("sync", "show", sync_id).stdout
    assert due.isoformat(sep=" ") in human


# retrieval windows ------------------------------------------------------------------------------------------


def test_later_runs_fetch_only_what_changed_and_full_fetches_all(stack: Stack) -> None:
    sync_id = stack.create_sync(spec("incremental", options={"on_recruit_delete": "remove_from_list"}))
    first = stack.run_sync(sync_id)
    assert (first["state"], first["total"]) == ("succeeded", 16), first
    assert stack.json("sync", "show", sync_id)["last_retrieval_kind"] == "full"

    changed = [
        {"id": "100002", "Email": "grace.hopper@navy.example", "First_Name": "Amazing", "Last_Name": "Grace"},
        {"id": "100003", "Email": "alan.turing@bletchley.example", "First_Name": "Alan", "Last_Name": "T."},
    ]
    stack.sim("POST", "/_sim/records/Candidates", changed)
    stack.sim("DELETE", "/_sim/records/Candidates/100004")
    second = stack.run_sync(sync_id)
    assert (second["state"], second["total"], second["updated"], second["deleted"]) == (
        "succeeded",
        2,
        2,
        1,
    ), second
    shown = stack.json("sync", "show", sync_id)
    assert shown["last_retrieval_kind"] == "incremental"
    assert datetime.fromisoformat(shown["last_retrieval_at"]) > datetime.fromisoformat(first["started_at"])

    # the overlap with the previous run reads its changes again, which are now unchanged
    again = stack.run_sync(sync_id)
    assert (again["total"], again["unchanged"], again["deleted"]) == (2, 2, 0), again

    full = stack.run_sync(sync_id, full=True)
    assert (full["trigger"], full["total"]) == ("full_resync", 15), full  # all live records again


def test_retrieval_after_is_bounded_by_the_configured_age(stack: Stack) -> None:
    too_old = (datetime.now(UTC) - timedelta(days=MAX_AGE_DAYS + 1)).isoformat()
    path = stack.workdir / f"old-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(spec("old", retrieval={"kind": "after", "after": too_old})))
    refused = stack.run("sync", "create", "--file", str(path), check=False)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "retrieval.after" in refused.stderr and f"more than {MAX_AGE_DAYS} days" in refused.stderr

    stack.sim("POST", "/_sim/records/Candidates", [{"id": "100077", "Email": "fresh@recent.example"}])
    recent = (datetime.now(UTC) - timedelta(days=MAX_AGE_DAYS - 1)).isoformat()
    sync_id = stack.create_sync(spec("recent", retrieval={"kind": "after", "after": recent}))
    run = stack.run_sync(sync_id)
    fetched = {r["record_id"] for r in stack.json("runs", "records", run["run_id"])}
    assert "100077" in fetched and "100001" not in fetched  # 100001 was last modified in October


# the daily credit budget ------------------------------------------------------------------------------------


def test_a_tiny_budget_refuses_manual_runs_and_defers_scheduled_ones(stack: Stack) -> None:
    measured = stack.run_sync(stack.create_sync(spec("measure")))["credits"]
    assert measured >= 2, measured
    budget = 2 * measured + 1  # room for two runs of this size, not three
    stack.json(
        "connection", "add", "--name", "tight", "--base-url", stack.sim_url, "--accounts-url", stack.sim_url,
        "--client-id", "cid", "--client-secret", "secret", "--refresh-token", "rt",
        "--daily-credit-budget", str(budget),
    )  # fmt: skip
    sync_id = stack.create_sync(spec("tight", connection="tight"))
    first = stack.run_sync(sync_id, full=True)
    second = stack.run_sync(sync_id, full=True)
    assert [first["credits"], second["credits"]] == [measured, measured]

    refused = stack.run("sync", "run", sync_id, "--full", "--wait", check=False)
    assert refused.returncode != 0 and refused.stdout == ""
    assert f"connection 'tight' has spent {2 * measured} of its {budget} daily credits" in refused.stderr, (
        refused.stderr
    )
    assert len(stack.json("runs", "list", sync_id)) == 2

    waiting = stack.create_sync(spec("waiting", connection="tight", schedule={"kind": "once"}))
    # its first-run estimate (capped at the budget) needs both runs' credits out of the 24-hour window
    frees_up = datetime.fromisoformat(second["finished_at"]) + timedelta(hours=24)

    def deferred() -> dict[str, Any] | None:
        shown: dict[str, Any] = stack.json("sync", "show", waiting)
        return shown if shown["state_reason"] else None

    shown = eventually(deferred, "the scheduled run to wait for the budget")
    assert shown["state"] == "active" and stack.json("runs", "list", waiting) == []
    assert abs(datetime.fromisoformat(shown["next_due_at"]) - frees_up) < timedelta(seconds=1)
    assert shown["state_reason"] == f"waiting for credit budget until {shown['next_due_at']}"
    [tight] = [c for c in stack.json("connection", "list") if c["name"] == "tight"]
    assert (tight["daily_credit_budget"], tight["credits_spent"]) == (budget, 2 * measured)
