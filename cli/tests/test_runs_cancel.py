"""``runs cancel RUN_ID`` against a fake API: the summary of the cancelled run, or one line naming why not."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from recruit_sync.cli.main import app

from .fake_api import FakeApi, ok, refused

CANCELLED: dict[str, Any] = {
    "run_id": "r1",
    "sync_id": "s1",
    "state": "failed",
    "trigger": "manual",
    "started_at": "2026-11-02T10:00:00+00:00",
    "finished_at": "2026-11-02T10:00:04+00:00",
    "total": 3,
    "new": 3,
    "re_added": 0,
    "duplicate": 0,
    "updated": 0,
    "unchanged": 0,
    "ignored": 0,
    "ignored_by_reason": {},
    "deleted": 0,
    "api_calls": 2,
    "credits": 6,
    "error": "cancelled",
}


def invoke(api: FakeApi, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), obj=api.state())


def test_cancel_posts_and_prints_the_failed_summary() -> None:
    api = FakeApi().on("POST", "/runs/r1/cancel", ok(CANCELLED))
    result = invoke(api, "runs", "cancel", "r1", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == CANCELLED
    assert "run r1 cancelled; its sync may run again" in result.stderr
    assert [(r.method, r.url.path) for r in api.requests] == [("POST", "/runs/r1/cancel")]


def test_cancel_human_output_shows_the_state_and_error() -> None:
    result = invoke(FakeApi().on("POST", "/runs/r1/cancel", ok(CANCELLED)), "runs", "cancel", "r1")
    assert result.exit_code == 0
    assert "failed" in result.stdout and "cancelled" in result.stdout


def test_a_run_that_has_ended_is_refused_in_one_line_naming_its_state() -> None:
    api = FakeApi().on("POST", "/runs/r1/cancel", refused(409, "run r1 has already succeeded"))
    result = invoke(api, "runs", "cancel", "r1")
    assert result.exit_code != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "run r1 has already succeeded" in lines[0], result.stderr


def test_an_unknown_run_is_refused_in_one_line() -> None:
    api = FakeApi().on("POST", "/runs/r9/cancel", refused(404, "no run 'r9'"))
    result = invoke(api, "runs", "cancel", "r9")
    assert result.exit_code != 0
    assert len(result.stderr.splitlines()) == 1 and "no run 'r9'" in result.stderr
