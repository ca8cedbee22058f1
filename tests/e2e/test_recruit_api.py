"""The fetcher survives the real API's failures, injected into the simulator (POST /_sim/faults).

Every run here is the stack's only Recruit traffic while it lasts, so the simulator's counters moved by
exactly that run's calls and credits, which ``runs show`` must report.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.conftest import DATA
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENT_TIMEOUT = 1  # seconds per call to Recruit (RECRUIT_SYNC_RECRUIT_TIMEOUT)
LIST = "/recruit/v2/Candidates"
DELETED = "/recruit/v2/Candidates/deleted"
COUNTS = ("total", "new", "re_added", "duplicate", "updated", "unchanged", "ignored", "ignored_by_reason")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(
        tmp_path_factory.mktemp("recruit-api"),
        sim_data=str(DATA / "small.json"),
        extra_env={"RECRUIT_SYNC_RECRUIT_TIMEOUT": str(CLIENT_TIMEOUT)},
    ) as running:
        running.add_connection()
        yield running


@dataclass
class Measured:
    """One run as the CLI reports it and as the simulator counted it."""

    summary: dict[str, Any]
    calls: int
    credits: int
    by_path: dict[str, int]
    tokens_issued: int


def new_sync(stack: Stack) -> str:
    """A sync to a list of its own: after the first, every first run imports the same counts."""
    suffix = uuid.uuid4().hex[:8]
    spec = {"name": f"api {suffix}", "connection": "acme-recruit", "module": "Candidates"}
    return stack.create_sync({**spec, "list": f"List {suffix}"})


def measured_run(stack: Stack, sync_id: str, faults: list[dict[str, Any]] | None = None) -> Measured:
    """Inject ``faults``, run the sync, and take the simulator's counters before and after."""
    before = stack.sim("GET", "/_sim/stats")
    if faults:
        stack.sim("POST", "/_sim/faults", faults)
    summary = stack.run_sync(sync_id)
    after = stack.sim("GET", "/_sim/stats")
    assert after["faults_pending"] == 0, "every injected fault was met"
    by_path = {p: n - before["by_path"].get(p, 0) for p, n in after["by_path"].items()}
    return Measured(
        summary=summary,
        calls=after["calls"] - before["calls"],
        credits=after["credits"] - before["credits"],
        by_path={p: n for p, n in by_path.items() if n},
        tokens_issued=after["tokens_issued"] - before["tokens_issued"],
    )


def assert_metered(run: Measured) -> None:
    """The run's own count of calls and credits is the simulator's."""
    assert (run.summary["api_calls"], run.summary["credits"]) == (run.calls, run.credits), run


def counts(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: summary[key] for key in COUNTS}


def duration(summary: dict[str, Any]) -> float:
    """Seconds from the run's start to its end, as the run history has them."""
    started, finished = (datetime.fromisoformat(summary[key]) for key in ("started_at", "finished_at"))
    return (finished - started).total_seconds()


@pytest.fixture(scope="module")
def baseline(stack: Stack) -> dict[str, Any]:
    """What a first run into a new list imports when Recruit behaves (once the contacts exist)."""
    first = measured_run(stack, new_sync(stack))
    assert first.summary["state"] == "succeeded", stack.logs()[-5000:]
    assert (first.summary["total"], first.summary["new"], first.summary["ignored"]) == (16, 8, 8)
    assert_metered(first)
    run = measured_run(stack, new_sync(stack))
    assert (run.summary["total"], run.summary["duplicate"], run.summary["ignored"]) == (16, 8, 8)
    assert_metered(run)
    return counts(run.summary)


def test_429_waits_as_retry_after_says(stack: Stack, baseline: dict[str, Any]) -> None:
    fault = {"status": 429, "count": 2, "retry_after": 1, "path": LIST}
    run = measured_run(stack, new_sync(stack), [fault])
    assert run.summary["state"] == "succeeded", run.summary
    assert counts(run.summary) == baseline
    assert duration(run.summary) >= 2  # two waits of Retry-After: 1 (a run of 16 records takes ~0.1 s)
    assert run.by_path[LIST] == 3  # two refused, one served
    assert_metered(run)


def test_500_then_503_are_retried(stack: Stack, baseline: dict[str, Any]) -> None:
    run = measured_run(stack, new_sync(stack), [{"status": 500, "path": LIST}, {"status": 503, "path": LIST}])
    assert run.summary["state"] == "succeeded", run.summary
    assert counts(run.summary) == baseline
    assert run.by_path[LIST] == 3
    assert_metered(run)


def test_a_call_slower_than_the_timeout_is_retried(stack: Stack, baseline: dict[str, Any]) -> None:
    sync_id = new_sync(stack)
    before = stack.sim("GET", "/_sim/stats")
    stack.sim("POST", "/_sim/faults", {"delay": CLIENT_TIMEOUT + 1.5, "path": LIST})
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", summary
    assert counts(summary) == baseline
    assert duration(summary) >= CLIENT_TIMEOUT
    # The abandoned call is still served (and billed) once its delay is over, maybe after the run.
    deadline = time.monotonic() + 10
    while True:
        after = stack.sim("GET", "/_sim/stats")
        spent = (after["calls"] - before["calls"], after["credits"] - before["credits"])
        if spent == (summary["api_calls"], summary["credits"]) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert spent == (summary["api_calls"], summary["credits"])
    assert after["by_path"][LIST] - before["by_path"][LIST] == 2


def test_spent_retries_fail_the_run_naming_the_call_and_the_next_run_works(
    stack: Stack, baseline: dict[str, Any]
) -> None:
    sync_id = new_sync(stack)
    failed = measured_run(stack, sync_id, [{"status": 500, "count": 5, "path": LIST}])
    assert failed.summary["state"] == "failed"
    assert failed.summary["error"] == f"GET {LIST}: HTTP 500 after 5 tries"
    assert failed.by_path[LIST] == 5
    assert_metered(failed)
    again = measured_run(stack, sync_id)
    assert again.summary["state"] == "succeeded", again.summary
    assert counts(again.summary) == baseline
    assert_metered(again)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"malformed": True}, f"GET {LIST}: HTTP 200 with a body that is not JSON"),
        ({"in_body_error": True}, f"GET {LIST}: HTTP 200 INVALID_DATA (the input data is invalid)"),
    ],
)
def test_a_body_that_is_not_a_page_fails_the_run_naming_the_call(
    stack: Stack, fault: dict[str, Any], error: str
) -> None:
    failed = measured_run(stack, new_sync(stack), [{**fault, "path": LIST}])
    shown = stack.json("runs", "show", failed.summary["run_id"])
    assert (shown["state"], shown["error"]) == ("failed", error)
    assert shown["total"] == 0  # nothing was imported from a run that failed while listing
    assert_metered(failed)


def test_expired_tokens_and_a_401_mid_run_are_refreshed_once(stack: Stack, baseline: dict[str, Any]) -> None:
    stack.sim("POST", "/_sim/oauth", {"expire_access_tokens": True})
    expired = measured_run(stack, new_sync(stack))
    assert expired.summary["state"] == "succeeded", expired.summary
    assert counts(expired.summary) == baseline
    assert expired.tokens_issued == 1
    assert_metered(expired)

    mid_run = measured_run(stack, new_sync(stack), [{"status": 401, "path": DELETED}])  # after the list
    assert mid_run.summary["state"] == "succeeded", mid_run.summary
    assert counts(mid_run.summary) == baseline
    assert mid_run.tokens_issued == 1
    assert mid_run.by_path[DELETED] == 2
    assert_metered(mid_run)
