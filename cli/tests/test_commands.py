"""The CLI against a fake API (httpx.MockTransport): output shapes, error lines, exit codes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from typer.testing import CliRunner, Result

from recruit_sync.cli.client import LONG_TIMEOUT
from recruit_sync.cli.main import CliState, app
from recruit_sync.contracts import rpc
from recruit_sync.contracts.resources import SyncDetail
from recruit_sync.contracts.sync_spec import SyncSpec

from .fake_api import FakeApi, ok, refused

SPEC = {"name": "IT grads", "connection": "acme", "list": "IT talent"}
WEEKLY = SyncSpec.model_validate(
    {
        **SPEC,
        "schedule": {"kind": "weekly", "weekday": "monday", "at": "09:30", "timezone": "Asia/Kolkata"},
        "mapping": [{"from": "Skill_Set", "to": "skills"}],
    }
)
IGNORED = {
    r: 0
    for r in (
        "empty_email",
        "invalid_pattern",
        "role_address",
        "file_duplicate",
        "opt_out",
        "converted",
        "do_not_mail",
        "bounced",
        "malformed",
    )
}


def summary(state: str, total: int, error: str | None = None) -> dict[str, Any]:
    return {
        "run_id": "r1",
        "sync_id": "s1",
        "state": state,
        "trigger": "manual",
        "started_at": "2026-11-02T10:00:00+00:00",
        "finished_at": None if state == "running" else "2026-11-02T10:00:04+00:00",
        "total": total,
        "new": total,
        "re_added": 0,
        "duplicate": 0,
        "updated": 0,
        "unchanged": 0,
        "ignored": 0,
        "ignored_by_reason": IGNORED,
        "deleted": 0,
        "api_calls": 2,
        "credits": 6,
        "error": error,
    }


def invoke(api: FakeApi | CliState, *args: str) -> Result:
    state = api.state() if isinstance(api, FakeApi) else api
    return CliRunner().invoke(app, list(args), obj=state)


def one_error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


# --- sync create --------------------------------------------------------------------------------------


def test_create_prints_exactly_one_json_document(tmp_path: Path) -> None:
    api = FakeApi().on("POST", "/syncs", ok({"id": "s1"}, 201))
    result = invoke(api, "sync", "create", "--file", write(tmp_path, "spec.json", json.dumps(SPEC)), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"id": "s1"}
    assert result.stderr == ""
    assert api.bodies("POST", "/syncs") == [SPEC]


def test_create_without_json_prints_the_id(tmp_path: Path) -> None:
    api = FakeApi().on("POST", "/syncs", ok({"id": "s1"}, 201))
    result = invoke(api, "sync", "create", "--file", write(tmp_path, "spec.json", json.dumps(SPEC)))
    assert result.stdout == "s1\n"


def test_a_malformed_spec_file_names_file_and_line_and_sends_nothing(tmp_path: Path) -> None:
    api = FakeApi()
    path = write(tmp_path, "spec.json", '{\n  "name": "x",\n  "list": "y",,\n}')
    result = invoke(api, "sync", "create", "--file", path)
    assert result.exit_code == 1
    assert (
        one_error_line(result)
        == f"error: {path}: line 3, column 15: Expecting property name enclosed in double quotes"
    )
    assert api.requests == []


def test_a_spec_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    result = invoke(FakeApi(), "sync", "create", "--file", write(tmp_path, "spec.json", "[1]"))
    assert result.exit_code == 1
    assert one_error_line(result).endswith("a sync spec must be a JSON object, not a list")


def test_a_refused_spec_prints_the_apis_message(tmp_path: Path) -> None:
    detail = "selection.conditions.0.operator: Input should be 'equals', 'not_equals' or 'contains'"
    api = FakeApi().on("POST", "/syncs", refused(422, detail))
    result = invoke(api, "sync", "create", "--file", write(tmp_path, "spec.json", json.dumps(SPEC)), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert one_error_line(result) == f"error: {detail}"


def test_an_unreachable_api_says_where_it_looked() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    state = CliState(api_url="http://127.0.0.1:8000", transport=httpx.MockTransport(unreachable))
    result = invoke(state, "sync", "list")
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: cannot reach the recruit-sync API at http://127.0.0.1:8000 "
        "(is 'recruit-sync services up' running?)"
    )


def test_an_api_answer_without_detail_still_names_the_status() -> None:
    api = FakeApi().on("GET", "/syncs", httpx.Response(502, text="<html>bad gateway</html>"))
    result = invoke(api, "sync", "list")
    assert one_error_line(result) == "error: the API answered 502 Bad Gateway: <html>bad gateway</html>"


def test_usage_errors_are_one_line_and_exit_2() -> None:
    result = invoke(FakeApi(), "sync", "create", "--fil", "x.json")
    assert result.exit_code == 2
    assert one_error_line(result).startswith("error: No such option: --fil")


# --- sync list / show ---------------------------------------------------------------------------------

SYNC = SyncDetail(
    id="s1",
    name="IT grads",
    state="active",
    state_reason=None,
    next_due_at=datetime(2026, 11, 2, 9, 30, tzinfo=ZoneInfo("Asia/Kolkata")),
    last_retrieval_at=None,
    last_retrieval_kind=None,
    settings_version=1,
    created_at=datetime(2026, 11, 1, 12, 0, tzinfo=ZoneInfo("Asia/Kolkata")),
    connection="acme",
    spec=WEEKLY,
    mapping=WEEKLY.full_mapping(),
    timezone="Asia/Kolkata",
    options_enabled_at={},
    run_in_flight=None,
).model_dump(mode="json", by_alias=True)


def test_sync_list_json_is_the_apis_list_and_the_global_flag_works() -> None:
    api = FakeApi().on("GET", "/syncs", ok([SYNC]))
    for args in (["sync", "list", "--json"], ["--json", "sync", "list"]):
        result = invoke(api, *args)
        assert result.exit_code == 0
        assert json.loads(result.stdout) == [SYNC]


def test_sync_show_reads_like_a_detail_view() -> None:
    detail = {**SYNC, "runs": [summary("succeeded", 3)], "last_run": summary("succeeded", 3)}
    result = invoke(FakeApi().on("GET", "/syncs/s1", ok(detail)), "sync", "show", "s1")
    assert result.exit_code == 0
    for words in (
        "IT talent",
        "weekly monday at 09:30 Asia/Kolkata",
        "Email -> email",
        "Skill_Set -> skills",
        "2026-11-02 09:30:00+05:30",
        "succeeded",
    ):
        assert words in result.stdout


def test_sync_list_reads_list_and_schedule_from_the_spec() -> None:
    result = invoke(FakeApi().on("GET", "/syncs", ok([SYNC])), "sync", "list")
    assert result.exit_code == 0, result.stderr
    words = result.stdout.split()  # the table folds long cells over lines
    assert {"talent", "weekly", "monday"} <= set(words)


# --- sync run -----------------------------------------------------------------------------------------


def test_run_wait_polls_until_the_run_ends_and_prints_its_summary() -> None:
    done = summary("succeeded", 7)
    api = (
        FakeApi()
        .on("POST", "/syncs/s1/runs", ok({"run_id": "r1", "started": True}, 202))
        .on(
            "GET",
            "/runs/r1",
            refused(404, "no run r1"),
            refused(503, "the history service is not answering"),
            ok(summary("running", 3)),
            ok(done),
        )
    )
    result = invoke(api, "sync", "run", "s1", "--wait", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == done
    assert api.calls("GET", "/runs/r1") == 4
    assert "the history service is not answering; still waiting" in result.stderr
    assert "3 records so far" in result.stderr
    assert api.requests[0].url.params["full"] == "false"


def test_run_wait_exits_1_on_a_failed_run_but_still_prints_the_summary() -> None:
    failed = summary("failed", 0, error="GET /recruit/v2/Candidates answered a body that is not JSON")
    api = (
        FakeApi()
        .on("POST", "/syncs/s1/runs", ok({"run_id": "r1", "started": True}, 202))
        .on("GET", "/runs/r1", ok(failed))
    )
    result = invoke(api, "sync", "run", "s1", "--full", "--wait", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == failed
    assert result.stderr.splitlines()[-1] == f"error: run r1 failed: {failed['error']}"
    assert api.requests[0].url.params["full"] == "true"


def test_run_wait_human_summary_shows_counts_and_duration() -> None:
    api = (
        FakeApi()
        .on("POST", "/syncs/s1/runs", ok({"run_id": "r1", "started": True}, 202))
        .on("GET", "/runs/r1", ok(summary("succeeded", 7)))
    )
    result = invoke(api, "sync", "run", "s1", "--wait")
    assert result.exit_code == 0
    assert "succeeded" in result.stdout and "4.0 s" in result.stdout and "credits" in result.stdout


def test_a_run_in_progress_is_reported_and_waited_for() -> None:
    api = (
        FakeApi()
        .on("POST", "/syncs/s1/runs", ok({"run_id": "r0", "started": False}, 202))
        .on("GET", "/runs/r0", ok({**summary("succeeded", 1), "run_id": "r0"}))
    )
    result = invoke(api, "sync", "run", "s1", "--wait", "--json")
    assert result.exit_code == 0
    assert "already in progress (r0); waiting for it" in result.stderr
    assert json.loads(result.stdout)["run_id"] == "r0"


def test_run_without_wait_prints_the_run_id() -> None:
    api = FakeApi().on("POST", "/syncs/s1/runs", ok({"run_id": "r1", "started": True}, 202))
    result = invoke(api, "sync", "run", "s1")
    assert (result.exit_code, result.stdout) == (0, "r1\n")


def test_run_wait_gives_up_after_the_timeout() -> None:
    api = (
        FakeApi()
        .on("POST", "/syncs/s1/runs", ok({"run_id": "r1", "started": True}, 202))
        .on("GET", "/runs/r1", ok(summary("running", 1)))
    )
    result = invoke(api, "sync", "run", "s1", "--wait", "--timeout", "0")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("error: run r1 has not ended after 0 s")


# --- history ------------------------------------------------------------------------------------------


def test_records_csv_has_the_documented_header() -> None:
    records = [
        {"record_id": "100001", "email": "a@example.com", "outcome": "new", "reason": None},
        {"record_id": "100002", "email": None, "outcome": "ignored", "reason": "empty_email"},
    ]
    api = FakeApi().on("GET", "/runs/r1/records", ok(records))
    result = invoke(api, "runs", "records", "r1", "--outcome", "ignored", "--csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "record_id,email,outcome,reason\n100001,a@example.com,new,\n100002,,ignored,empty_email\n"
    )
    assert api.requests[0].url.params["outcome"] == "ignored"


def test_records_refuse_an_unknown_outcome_before_asking() -> None:
    api = FakeApi()
    result = invoke(api, "runs", "records", "r1", "--outcome", "lost")
    assert result.exit_code == 2
    assert "'lost' is not one of" in one_error_line(result)
    assert api.requests == []


def test_explain_json_is_the_apis_list() -> None:
    rows = [
        {
            "run_id": "r1",
            "sync_id": "s1",
            "record_id": "1",
            "outcome": "ignored",
            "reason": "bounced",
            "at": "t",
        }
    ]
    result = invoke(FakeApi().on("GET", "/explain/a@x.com", ok(rows)), "explain", "a@x.com", "--json")
    assert json.loads(result.stdout) == rows


def test_replay_prints_the_events_in_order_and_names_each_difference() -> None:
    replay = {
        "run_id": "r1",
        "events": [
            {"type": "sync.due", "at": "2026-11-02T09:30:00+00:00", "records": None},
            {"type": "batch.imported", "at": "2026-11-02T09:30:04+00:00", "records": 7},
        ],
        "journal_summary": {"total": 7, "new": 5, "ignored": 2, "ignored_by_reason": IGNORED},
        "matches_history": False,
        "differences": ["new: journal 5, history 4"],
    }
    result = invoke(FakeApi().on("GET", "/runs/r1/replay", ok(replay)), "replay", "r1")
    assert result.exit_code == 0
    assert result.stdout.index("sync.due") < result.stdout.index("batch.imported")
    assert "journal outcomes: 5 new, 2 ignored" in result.stdout
    assert result.stdout.endswith("differs from history:\n  new: journal 5, history 4\n")


def test_replay_of_a_run_gone_from_the_journal_is_one_error_line() -> None:
    line = "run r1 has left the journal (it keeps events for 7 days, up to 2 GiB)"
    result = invoke(FakeApi().on("GET", "/runs/r1/replay", refused(410, line)), "replay", "r1")
    assert result.exit_code == 1
    assert one_error_line(result) == f"error: {line}"


def counts(**given: Any) -> dict[str, Any]:
    """A run summary's counts (INTERFACE.md): ``ignored_by_reason`` from the reasons given as keywords."""
    reasons = {reason: given.pop(reason) for reason in list(given) if reason in IGNORED}
    keys = ("total", "new", "re_added", "duplicate", "updated", "unchanged", "ignored", "deleted")
    return {**dict.fromkeys(keys, 0), "ignored_by_reason": {**IGNORED, **reasons}, **given}


def difference(
    record_id: str,
    email: str | None,
    recorded: str | None,
    replayed: str | None,
    recorded_reason: str | None = None,
    replayed_reason: str | None = None,
) -> dict[str, Any]:
    return {
        "record_id": record_id,
        "email": email,
        "recorded": recorded,
        "replayed": replayed,
        "recorded_reason": recorded_reason,
        "replayed_reason": replayed_reason,
    }


DRY_RUN = {
    "run_id": "r1",
    "recorded": counts(total=3, new=2, ignored=1, bounced=1),
    "replayed": counts(total=3, new=1, ignored=2, bounced=1, role_address=1),
    "differences": [
        difference("100042", "jane@example.com", "new", "ignored", replayed_reason="role_address"),
        difference("7", None, "ignored", None, recorded_reason="do_not_mail"),
    ],
    "differences_total": 2,
    "batches": 1,
}


def timeout_of(request: httpx.Request) -> float:
    timeout: float = request.extensions["timeout"]["read"]
    return timeout


def test_replay_dry_run_shows_both_summaries_then_each_difference_then_the_verdict() -> None:
    api = FakeApi().on("GET", "/runs/r1/dry-run", ok(DRY_RUN))
    result = invoke(api, "replay", "r1", "--dry-run")
    assert result.exit_code == 0, result.stderr  # a difference is an answer, not an error
    rows = [line.strip("│ ").split() for line in result.stdout.splitlines() if line.startswith("│")]
    assert rows == [
        ["total", "│", "3", "│", "3"],
        ["new", "│", "2", "│", "1"],
        *([column, "│", "0", "│", "0"] for column in ("re_added", "duplicate", "updated", "unchanged")),
        ["ignored", "│", "1", "│", "2"],
        ["ignored:", "role_address", "│", "0", "│", "1"],  # non-zero on one side: shown
        ["ignored:", "bounced", "│", "1", "│", "1"],  # the reasons zero on both sides are not
        ["deleted", "│", "0", "│", "0"],
    ]
    assert result.stdout.splitlines()[-3:] == [
        "record 100042  jane@example.com  recorded new                    replayed ignored (role_address)",
        "record 7       -                 recorded ignored (do_not_mail)  replayed nothing",
        "2 differences",
    ]
    assert timeout_of(api.requests[0]) == LONG_TIMEOUT > rpc.LONG


def test_a_dry_run_that_reproduces_says_so() -> None:
    reproduced = {**DRY_RUN, "replayed": DRY_RUN["recorded"], "differences": [], "differences_total": 0}
    result = invoke(FakeApi().on("GET", "/runs/r1/dry-run", ok(reproduced)), "replay", "r1", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "reproduces: 0 differences"
    assert "record " not in result.stdout


def test_a_dry_run_with_more_differences_than_listed_says_how_many_it_shows() -> None:
    many = {**DRY_RUN, "differences_total": 1500}
    result = invoke(FakeApi().on("GET", "/runs/r1/dry-run", ok(many)), "replay", "r1", "--dry-run")
    assert result.stdout.splitlines()[-1] == "1500 differences (showing the first 2)"


def test_replay_dry_run_json_is_the_apis_document_and_replay_alone_is_unchanged() -> None:
    api = (
        FakeApi()
        .on("GET", "/runs/r1/dry-run", ok(DRY_RUN))
        .on("GET", "/runs/r1/replay", ok({"run_id": "r1"}))
    )
    dry = invoke(api, "replay", "r1", "--dry-run", "--json")
    assert (dry.exit_code, json.loads(dry.stdout), dry.stderr) == (0, DRY_RUN, "")
    plain = invoke(api, "replay", "r1", "--json")
    assert json.loads(plain.stdout) == {"run_id": "r1"}
    assert [r.url.path for r in api.requests] == ["/runs/r1/dry-run", "/runs/r1/replay"]
    assert timeout_of(api.requests[1]) == 60.0  # the usual wait for the usual call


def test_a_dry_run_the_api_refuses_is_one_error_line() -> None:
    gone = "run r1 has left the journal (it keeps events for 7 days, up to 2 GiB)"
    unstarted = "run r2 has no start time; it cannot be replayed"
    api = (
        FakeApi()
        .on("GET", "/runs/r1/dry-run", refused(410, gone))
        .on("GET", "/runs/r2/dry-run", refused(409, unstarted))
    )
    for run_id, line in (("r1", gone), ("r2", unstarted)):
        result = invoke(api, "replay", run_id, "--dry-run", "--json")
        assert (result.exit_code, result.stdout) == (1, "")
        assert one_error_line(result) == f"error: {line}"


# --- sync preview -------------------------------------------------------------------------------------

PREVIEW = {
    "summary": counts(total=3, new=1, ignored=2, role_address=2),
    "samples": {
        "new": [{"record_id": "100001", "email": "jane@example.com", "reason": None}],
        "ignored": [
            {"record_id": "100042", "email": "info@example.com", "reason": "role_address"},
            {"record_id": "100043", "email": "careers@example.com", "reason": "role_address"},
        ],
    },
    "api_calls": 2,
    "credits": 6,
}


def test_preview_shows_the_counts_then_samples_of_each_outcome_then_the_cost() -> None:
    api = FakeApi().on("POST", "/syncs/IT grads/preview", ok(PREVIEW))
    result = invoke(api, "sync", "preview", "IT grads")
    assert result.exit_code == 0, result.stderr
    lines = [line.strip("│┃ ").split() for line in result.stdout.splitlines()]
    assert ["ignored:", "role_address", "│", "2"] in lines  # the counts, as 'runs show' prints them
    assert ["100001", "│", "jane@example.com"] in lines
    assert ["100043", "│", "careers@example.com", "│", "role_address"] in lines
    assert result.stdout.index("new: 1 of 1") < result.stdout.index("ignored: 2 of 2")
    assert result.stdout.splitlines()[-1] == "api calls: 2, credits: 6"
    assert api.bodies("POST", "/syncs/IT grads/preview") == []
    assert timeout_of(api.requests[0]) == LONG_TIMEOUT


def test_preview_of_a_spec_file_sends_the_spec_and_json_is_the_apis_document(tmp_path: Path) -> None:
    api = FakeApi().on("POST", "/syncs/preview", ok(PREVIEW))
    path = write(tmp_path, "spec.json", json.dumps(SPEC))
    result = invoke(api, "sync", "preview", "--file", path, "--json")
    assert (result.exit_code, json.loads(result.stdout), result.stderr) == (0, PREVIEW, "")
    assert api.bodies("POST", "/syncs/preview") == [SPEC]
    assert timeout_of(api.requests[0]) == LONG_TIMEOUT


def test_preview_takes_an_id_or_a_file_exactly(tmp_path: Path) -> None:
    api = FakeApi()
    path = write(tmp_path, "spec.json", json.dumps(SPEC))
    neither = invoke(api, "sync", "preview")
    both = invoke(api, "sync", "preview", "s1", "--file", path)
    assert (neither.exit_code, both.exit_code) == (2, 2)
    assert "give a sync ID or --file SPEC.json (see" in one_error_line(neither)
    assert "give a sync ID or --file SPEC.json, not both" in one_error_line(both)
    assert api.requests == []


def test_a_preview_spec_file_is_read_as_create_reads_it(tmp_path: Path) -> None:
    api = FakeApi()
    missing = str(tmp_path / "nope.json")
    malformed = write(tmp_path, "spec.json", '{\n  "name": "x",,\n}')
    not_an_object = write(tmp_path, "list.json", "[1]")
    for path in (missing, malformed, not_an_object):
        created, previewed = (invoke(api, "sync", verb, "--file", path) for verb in ("create", "preview"))
        assert created.exit_code == previewed.exit_code == 1
        assert one_error_line(created) == one_error_line(previewed)
    assert (
        one_error_line(previewed) == f"error: {not_an_object}: a sync spec must be a JSON object, not a list"
    )
    assert api.requests == []


def test_a_preview_the_api_refuses_is_one_error_line() -> None:
    detail = "test-viewer has the viewer role; this needs editor or above"
    api = FakeApi().on("POST", "/syncs/s1/preview", refused(403, detail))
    result = invoke(api, "sync", "preview", "s1", "--json")
    assert (result.exit_code, result.stdout) == (1, "")
    assert one_error_line(result).startswith(f"error: {detail} (the role of the token")


# --- suppressions -------------------------------------------------------------------------------------


def test_suppress_import_sends_the_files_addresses_and_reports_bad_lines(tmp_path: Path) -> None:
    api = FakeApi().on("POST", "/suppressions", ok({"added": 2}))
    path = write(
        tmp_path,
        "bounces.csv",
        "# from the ESP\nname,Email\nAda,ada@x.com\n\nBob,bob@x.com\nEve,not-an-address\n",
    )
    result = invoke(api, "suppress", "import", "--reason", "bounced", path, "--json")
    assert result.exit_code == 0, result.stderr
    assert api.bodies("POST", "/suppressions") == [
        {"reason": "bounced", "emails": ["ada@x.com", "bob@x.com"]}
    ]
    assert json.loads(result.stdout) == {"read": 2, "added": 2, "skipped": 1}
    assert f"{path}: line 6: 'not-an-address' is not an email address, skipped" in result.stderr


def test_suppress_reasons_are_the_registrys_and_others_are_refused_before_asking() -> None:
    api = FakeApi()
    result = invoke(api, "suppress", "add", "--reason", "spam", "a@x.com")
    assert result.exit_code == 2
    assert "'spam' is not one of 'bounced', 'do_not_mail'" in one_error_line(result)
    assert api.requests == []


def test_suppress_list_filters_by_reason() -> None:
    rows = [{"email": "a@x.com", "reason": "bounced", "created_at": "2026-11-02T10:00:00+00:00"}]
    api = FakeApi().on("GET", "/suppressions", ok(rows))
    result = invoke(api, "suppress", "list", "--reason", "bounced", "--json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, rows)
    assert api.requests[0].url.params["reason"] == "bounced"


def test_suppress_add_posts_reason_and_addresses() -> None:
    api = FakeApi().on("POST", "/suppressions", ok({"added": 2}))
    result = invoke(api, "suppress", "add", "--reason", "do_not_mail", "a@x.com", "b@x.com")
    assert result.exit_code == 0
    assert api.bodies("POST", "/suppressions") == [
        {"reason": "do_not_mail", "emails": ["a@x.com", "b@x.com"]}
    ]


# --- connections and mappings -------------------------------------------------------------------------


def test_connection_add_sends_the_credentials_and_prints_only_the_id() -> None:
    api = FakeApi().on("POST", "/connections", ok({"id": "c1"}, 201))
    result = invoke(
        api,
        "connection", "add", "--name", "acme", "--base-url", "http://127.0.0.1:8700",
        "--accounts-url", "http://127.0.0.1:8700", "--client-id", "cid", "--client-secret", "secret",
        "--refresh-token", "rt", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"id": "c1"}
    sent = api.bodies("POST", "/connections")[0]
    assert (sent["client_secret"], sent["refresh_token"], "primary_email" in sent) == ("secret", "rt", False)
    assert "secret" not in result.stdout + result.stderr


def test_a_credit_budget_beyond_32_bits_is_refused_before_asking() -> None:
    api = FakeApi()
    result = invoke(
        api,
        "connection", "add", "--name", "acme", "--base-url", "http://127.0.0.1:8700",
        "--accounts-url", "http://127.0.0.1:8700", "--client-id", "cid", "--client-secret", "secret",
        "--refresh-token", "rt", "--daily-credit-budget", str(2**31),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--daily-credit-budget" in one_error_line(result)
    assert api.requests == []


def test_rekey_sends_only_the_changes_given() -> None:
    api = FakeApi().on("POST", "/connections/acme/rekey", ok({"id": "c1", "deactivated": ["s1"]}))
    result = invoke(api, "connection", "rekey", "acme", "--client-id", "cid2", "--refresh-token", "rt2")
    assert result.exit_code == 0, result.stderr
    assert api.bodies("POST", "/connections/acme/rekey") == [{"refresh_token": "rt2", "client_id": "cid2"}]
    assert result.stdout == "connection acme rekeyed\n"
    assert "deactivated: s1" in result.stderr


def test_rekey_without_a_change_is_a_usage_error() -> None:
    api = FakeApi()
    result = invoke(api, "connection", "rekey", "acme")
    assert result.exit_code == 2
    assert "give --refresh-token, --client-id, --client-secret or --primary-email" in one_error_line(result)
    assert api.requests == []


def test_favourite_save_takes_a_mapping_list_or_a_spec_file(tmp_path: Path) -> None:
    mapping = [{"from": "Skill_Set", "to": "skills"}]
    api = FakeApi().on("POST", "/mapping/favourites", ok({"name": "tech"}))
    for content in (mapping, {**SPEC, "mapping": mapping}):
        path = write(tmp_path, "mapping.json", json.dumps(content))
        assert invoke(api, "mapping", "favourite", "save", "tech", "--file", path).exit_code == 0
    assert api.bodies("POST", "/mapping/favourites") == [{"name": "tech", "mapping": mapping}] * 2


def test_list_members_json_is_the_apis_list() -> None:
    members = [{"email": "a@x.com", "first_name": "A", "last_name": "B", "skills": ["go", "sql"]}]
    result = invoke(
        FakeApi().on("GET", "/lists/IT talent/members", ok(members)), "list", "members", "IT talent", "--json"
    )
    assert json.loads(result.stdout) == members
