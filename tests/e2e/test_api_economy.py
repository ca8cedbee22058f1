"""API economy, counted by the simulator: pages of 200, one deleted-records pass, never a call per record.

N = 1,050 generated candidates, and the simulator refuses `page` past record 400 the way CRM refuses it
past 2,000: the listing gets there only by following `info.next_page_token`, at no extra call.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 1050
PAGE = 200
TOKENS_PAST = 400
LIST = "/recruit/v2/Candidates"
DELETED = "/recruit/v2/Candidates/deleted"
MODULES = "/recruit/v2/settings/modules"

FullRun = tuple[str, dict[str, Any], dict[str, int]]  # sync id, summary, calls per path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("economy"), sim_generate=N) as running:
        running.sim("POST", "/_sim/paging", {"page_token_after": TOKENS_PAST})
        running.add_connection()
        yield running


def spent(stack: Stack, sync_id: str, *, full: bool = False) -> tuple[dict[str, Any], dict[str, int]]:
    """Run the sync; its summary and the simulator's calls per path during the run (the only traffic)."""
    before = stack.sim("GET", "/_sim/stats")
    summary = stack.run_sync(sync_id, full=full)
    after = stack.sim("GET", "/_sim/stats")
    assert summary["state"] == "succeeded", summary
    assert (summary["api_calls"], summary["credits"]) == (
        after["calls"] - before["calls"],
        after["credits"] - before["credits"],
    )
    by_path = {p: n - before["by_path"].get(p, 0) for p, n in after["by_path"].items()}
    return summary, {p: n for p, n in by_path.items() if n}


@pytest.fixture(scope="module")
def full_run(stack: Stack) -> FullRun:
    sync_id = stack.create_sync({"name": "economy", "connection": "acme-recruit", "list": "Economy"})
    summary, calls = spent(stack, sync_id)
    return sync_id, summary, calls


def test_full_sync_pages_of_200_and_one_deleted_pass(
    full_run: tuple[str, dict[str, Any], dict[str, int]],
) -> None:
    _, summary, calls = full_run
    assert summary["total"] == N
    # the first run of the fetcher process also reads the module list (then cached, ADR 0012)
    assert calls == {LIST: math.ceil(N / PAGE), DELETED: 1, MODULES: 1}
    assert (summary["api_calls"], summary["credits"]) == (6 + 1 + 1, 6 * 3 + 1 + 1)


def test_incremental_run_without_changes_makes_two_calls(stack: Stack, full_run: FullRun) -> None:
    sync_id, _, _ = full_run
    summary, calls = spent(stack, sync_id)
    assert summary["trigger"] == "manual" and summary["total"] == 0  # HTTP 204: an empty page
    assert calls == {LIST: 1, DELETED: 1}


def test_incremental_run_with_changes_lists_them_in_one_page(stack: Stack, full_run: FullRun) -> None:
    sync_id, _, _ = full_run
    added = [
        {"Email": f"late.{i}@economy.example", "First_Name": "Late", "Last_Name": str(i)} for i in range(3)
    ]
    ids = stack.sim("POST", "/_sim/records/Candidates", added)["ids"]
    stack.sim("DELETE", f"/_sim/records/Candidates/{ids[0]}")
    summary, calls = spent(stack, sync_id)
    assert summary["total"] == 2  # the deleted one came through the deleted-records pass
    assert calls == {LIST: 1, DELETED: 1}


def test_full_resync_makes_the_same_list_calls(stack: Stack, full_run: FullRun) -> None:
    sync_id, _, _ = full_run
    summary, calls = spent(stack, sync_id, full=True)
    assert summary["total"] == N + 2
    assert calls == {LIST: math.ceil((N + 2) / PAGE), DELETED: 1}  # the module list is still cached
