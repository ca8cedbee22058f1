"""``recruit-sync dlq list | retry QUEUE | purge QUEUE`` against a fake API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from recruit_sync.cli import render
from recruit_sync.cli.main import app
from recruit_sync.cli.render import age

from .fake_api import FakeApi, ok, refused

IMPORTER = "recruit_sync.importer.record_batch"


def message(**changes: Any) -> dict[str, Any]:
    return {
        "message_id": "m1",
        "run_id": None,
        "event_type": "record.batch",
        "reason": "cannot read RecordBatch: the body is not JSON",
        "dead_lettered_at": "2026-11-30T10:00:00+00:00",
        "age_seconds": 5400.0,
        "size": 8,
        "retries": 0,
        **changes,
    }


LISTED = [
    {
        "queue": "recruit_sync.fetcher.sync_due",
        "dlq": "recruit_sync.fetcher.sync_due.dlq",
        "count": 0,
        "messages": [],
    },
    {
        "queue": IMPORTER,
        "dlq": f"{IMPORTER}.dlq",
        "count": 3,
        "messages": [message(), message(message_id="m2", run_id="run-7", reason="KeyError: 'x'", retries=1)],
    },
]


def invoke(api: FakeApi, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), obj=api.state())


def test_list_shows_each_queue_and_each_message_with_reason_and_age(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render.out, "_width", 200)  # a wide terminal: no cell folds
    api = FakeApi().on("GET", "/dlq", ok(LISTED))
    result = invoke(api, "dlq", "list", "--limit", "2")
    assert result.exit_code == 0, result.stderr
    assert api.requests[0].url.params["limit"] == "2"
    out = result.stdout
    assert "recruit_sync.fetcher.sync_due" in out and f"{IMPORTER}.dlq (3, the oldest 2 shown)" in out
    assert "cannot read RecordBatch: the body is not JSON" in out and "KeyError: 'x'" in out
    assert "1 h" in out and "run-7" in out


def test_list_json_is_the_apis_answer() -> None:
    api = FakeApi().on("GET", "/dlq", ok(LISTED))
    result = invoke(api, "dlq", "list", "--json")
    assert json.loads(result.stdout) == LISTED


def test_retry_and_purge_name_the_queue_and_the_count() -> None:
    api = (
        FakeApi()
        .on("POST", f"/dlq/{IMPORTER}/retry", ok({"queue": IMPORTER, "dlq": f"{IMPORTER}.dlq", "retried": 2}))
        .on(
            "POST",
            f"/dlq/{IMPORTER}.dlq/purge",
            ok({"queue": IMPORTER, "dlq": f"{IMPORTER}.dlq", "purged": 1}),
        )
    )
    retried = invoke(api, "dlq", "retry", IMPORTER)
    assert (retried.exit_code, retried.stdout) == (0, f"put back 2 message(s) into {IMPORTER}\n")
    purged = invoke(api, "dlq", "purge", f"{IMPORTER}.dlq")
    assert (purged.exit_code, purged.stdout) == (0, f"dropped 1 message(s) from {IMPORTER}.dlq\n")
    as_json = invoke(api, "dlq", "purge", f"{IMPORTER}.dlq", "--json")
    assert json.loads(as_json.stdout)["purged"] == 1


def test_an_unknown_queue_is_the_apis_one_line_and_a_name_cannot_leave_its_path() -> None:
    detail = "no dead-letter queue 'x/y': give a work queue (...) or its '.dlq'"
    api = FakeApi().on("POST", "/dlq/x/y/purge", refused(404, detail))  # the fake matches decoded paths
    result = invoke(api, "dlq", "purge", "x/y")
    assert result.exit_code == 1
    assert result.stderr == f"error: {detail}\n"
    assert api.requests[0].url.raw_path == b"/dlq/x%2Fy/purge"


def test_a_non_admin_token_is_told_so() -> None:
    api = FakeApi().on("GET", "/dlq", refused(403, "ci has the editor role; this needs admin or above"))
    result = invoke(api, "dlq", "list")
    assert result.exit_code == 1
    assert "this needs admin or above (the role of the token in RECRUIT_SYNC_TOKEN" in result.stderr


def test_ages_read_at_a_glance() -> None:
    assert [age(s) for s in (None, 0.4, 59, 60, 3599, 7200, 86400 * 3)] == [
        "-",
        "0 s",
        "59 s",
        "1 min",
        "59 min",
        "2 h",
        "3 d",
    ]
