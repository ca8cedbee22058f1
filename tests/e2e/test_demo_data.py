"""The bundled demo data (sim/README.md lists its categories) gives the documented per-outcome counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from recruit_sync.sim import demo_data_path
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# 300 candidates: 10 blank, 10 invalid, 8 role, 10 duplicates, 12 opted out, 6 converted, 244 ordinary
EXPECTED_IGNORED = {"empty_email": 10, "invalid_pattern": 10, "role_address": 8, "file_duplicate": 10}


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("demo"), sim_data=str(demo_data_path())) as running:
        yield running


def test_demo_sync_counts_and_members(demo_stack: Stack) -> None:
    demo_stack.add_connection()
    sync_id = demo_stack.create_sync({"name": "demo", "connection": "acme-recruit", "list": "Demo list"})
    summary = demo_stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", summary
    assert summary["total"] == 300  # converted candidates are fetched too (converted=both)
    assert summary["new"] == 262  # 244 ordinary + 12 opted out + 6 converted: no exclusion options set
    ignored = {reason: n for reason, n in summary["ignored_by_reason"].items() if n}
    assert ignored == EXPECTED_IGNORED
    assert summary["total"] == summary["new"] + summary["ignored"]
    members = demo_stack.json("list", "members", "Demo list")
    assert len(members) == 262
    assert len({m["email"].lower() for m in members}) == 262
    stats = demo_stack.sim("GET", "/_sim/stats")  # the only Recruit traffic of this stack is this run
    assert (summary["api_calls"], summary["credits"]) == (stats["calls"], stats["credits"])
    list_calls = stats["by_path"]["/recruit/v2/Candidates"]
    assert list_calls == 2  # ceil(300 / 200) pages, never a call per record
