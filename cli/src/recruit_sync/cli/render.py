"""Readable output: rich tables on stdout for people (scripts use ``--json``), progress on stderr."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from recruit_sync.contracts.events import IgnoreReason, Outcome

out = Console(highlight=False, soft_wrap=False)  # file=None: rich looks sys.stdout up at each print
err = Console(stderr=True, highlight=False)

OUTCOME_COLUMNS = tuple(outcome.value for outcome in Outcome)


def print_json(data: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def note(message: str) -> None:
    """A remark for the person at the terminal; stderr, so stdout stays data."""
    err.print(message, markup=False, soft_wrap=True)


def text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    if not rows:
        note(f"{title or 'nothing'}: none")
        return
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        grid.add_row(*(text(row.get(column)) for column in columns))
    out.print(grid)


def columns_of(rows: Sequence[dict[str, Any]], first: Sequence[str]) -> list[str]:
    """``first``, then every other key the rows carry, in the order they appear."""
    seen = list(first)
    for row in rows:
        seen.extend(key for key in row if key not in seen)
    return seen


def pairs(title: str, items: Sequence[tuple[str, Any]]) -> None:
    grid = Table(title=title, title_justify="left", show_header=False)
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in items:
        grid.add_row(key, text(value))
    out.print(grid)


# --- users and tokens --------------------------------------------------------------------------------


def show_users(users: Sequence[dict[str, Any]]) -> None:
    rows = [{**user, "created_at": when(user["created_at"])} for user in users]
    table(rows, ["email", "role", "created_at"], "users")


def show_tokens(tokens: Sequence[dict[str, Any]]) -> None:
    rows = [
        {**token, "created_at": when(token["created_at"]), "last_used_at": when(token["last_used_at"])}
        for token in tokens
    ]
    table(rows, ["name", "role", "created_at", "last_used_at"], "tokens")


# --- syncs -------------------------------------------------------------------------------------------


def describe_schedule(schedule: dict[str, Any] | None) -> str:
    if not schedule:
        return "once"
    kind = schedule.get("kind", "once")
    when = {"weekly": schedule.get("weekday"), "monthly": f"day {schedule.get('day')}"}.get(kind)
    parts = [kind, when, f"at {schedule['at']}" if schedule.get("at") else None, schedule.get("timezone")]
    return " ".join(str(p) for p in parts if p)


def describe_selection(selection: dict[str, Any] | None) -> str:
    if not selection or selection.get("kind", "all") == "all":
        return "all records"
    if selection["kind"] == "custom_view":
        return f"custom view {selection.get('cvid')}"
    conditions = selection.get("conditions") or []
    numbered = "; ".join(
        f"{i}: {c.get('field')} {c.get('operator')} {text(c.get('value')) if 'value' in c else ''}".rstrip()
        for i, c in enumerate(conditions, start=1)
    )
    return f"criteria {selection.get('pattern') or '(all of)'}: {numbered}"


def describe_retrieval(retrieval: dict[str, Any] | None) -> str:
    if not retrieval or retrieval.get("kind", "all") == "all":
        return "all records"
    return f"created or modified after {retrieval.get('after')}"


def show_syncs(syncs: Sequence[dict[str, Any]]) -> None:
    rows = [
        {
            "id": s.get("id"),
            "name": s.get("name"),
            "state": text(s.get("state")) + (f" ({s['state_reason']})" if s.get("state_reason") else ""),
            "list": s["spec"].get("list"),
            "schedule": describe_schedule(s["spec"].get("schedule")),
            "next_due_at": when(s.get("next_due_at")),
            "last_retrieval_at": when(s.get("last_retrieval_at")),
        }
        for s in syncs
    ]
    table(rows, ["id", "name", "state", "list", "schedule", "next_due_at", "last_retrieval_at"], "syncs")


def show_sync(sync: dict[str, Any]) -> None:
    """SPEC section 6's detail view: configuration, mapping, time zone, last retrieval (time and
    type), next due time, state and its reason, and the runs, newest first."""
    spec = sync["spec"]
    enabled_at = sync.get("options_enabled_at") or {}
    retrieval_kind = sync.get("last_retrieval_kind")
    pairs(
        f"sync {sync.get('name')}",
        [
            ("id", sync.get("id")),
            ("state", sync.get("state")),
            ("state reason", sync.get("state_reason")),
            ("connection", spec.get("connection")),
            ("module", spec.get("module", "Candidates")),
            ("selection", describe_selection(spec.get("selection"))),
            ("list", spec.get("list")),
            ("options", spec.get("options") or {}),
            *((f"  {option} since", when(at)) for option, at in sorted(enabled_at.items())),
            ("schedule", describe_schedule(spec.get("schedule"))),
            ("time zone", sync.get("timezone")),
            ("retrieval", describe_retrieval(spec.get("retrieval"))),
            ("mapping", [f"{m.get('from')} -> {m.get('to')}" for m in sync["mapping"]]),
            ("last retrieval", when(sync.get("last_retrieval_at"))),
            ("last retrieval type", retrieval_kind),
            ("next due", when(sync.get("next_due_at"))),
        ],
    )
    if "runs" in sync:
        show_runs(sync["runs"])


# --- runs --------------------------------------------------------------------------------------------


def duration(summary: dict[str, Any]) -> str | None:
    try:
        start = datetime.fromisoformat(summary["started_at"])
        end = datetime.fromisoformat(summary["finished_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return f"{(end - start).total_seconds():.1f} s"


def when(value: Any) -> Any:
    """An ISO 8601 instant, shorter: ``2026-11-02 10:00:04+00:00`` (anything else unchanged)."""
    try:
        return datetime.fromisoformat(value).isoformat(sep=" ", timespec="seconds")
    except (TypeError, ValueError):
        return value


def outcomes(summary: dict[str, Any]) -> str:
    """``5 new, 1 duplicate, 2 ignored``: the non-zero outcome counts of a run."""
    counts = [f"{summary[k]} {k.replace('_', '-')}" for k in OUTCOME_COLUMNS if summary.get(k)]
    return ", ".join(counts) or "nothing"


def show_runs(runs: Sequence[dict[str, Any]]) -> None:
    rows = [{**run, "started": when(run.get("started_at")), "outcomes": outcomes(run)} for run in runs]
    table(
        rows, ["run_id", "state", "trigger", "started", "total", "outcomes", "error"], "runs (newest first)"
    )


def show_run(summary: dict[str, Any]) -> None:
    ignored = summary.get("ignored_by_reason") or {}
    by_reason = [(f"  ignored: {r.value}", ignored[r.value]) for r in IgnoreReason if ignored.get(r.value)]
    pairs(
        f"run {summary.get('run_id')}",
        [
            ("sync", summary.get("sync_id")),
            ("state", summary.get("state")),
            ("trigger", summary.get("trigger")),
            ("started", when(summary.get("started_at"))),
            ("finished", when(summary.get("finished_at"))),
            ("duration", duration(summary)),
            ("total", summary.get("total")),
            *((column, summary.get(column)) for column in OUTCOME_COLUMNS if column != "deleted"),
            *by_reason,
            ("deleted", summary.get("deleted")),
            ("api calls", summary.get("api_calls")),
            ("credits", summary.get("credits")),
            ("error", summary.get("error")),
        ],
    )


def show_replay(replay: dict[str, Any]) -> None:
    """The run's events in journal order, the outcomes they add up to, and the verdict."""
    events = [{**event, "at": when(event.get("at"))} for event in replay.get("events", [])]
    table(events, ["type", "at", "records"], f"events of run {replay.get('run_id')} in the journal")
    print(f"journal outcomes: {outcomes(replay.get('journal_summary') or {})}")
    differences = replay.get("differences") or []
    if replay.get("matches_history"):
        print("matches history")
        return
    print("differs from history:")
    for difference in differences:
        print(f"  {difference}")


@contextmanager
def run_progress(run_id: str, every: float = 5.0) -> Iterator[Callable[[dict[str, Any] | None], None]]:
    """Yields ``update(summary | None)``: a live status line on a terminal; otherwise (logs) a line
    when the state changes, or the count does and ``every`` seconds have passed."""
    if err.is_terminal:
        with err.status(progress_line(run_id, None)) as status:
            yield lambda summary: status.update(progress_line(run_id, summary))
        return
    printed: dict[str, Any] = {"state": object(), "line": None, "at": float("-inf")}

    def update(summary: dict[str, Any] | None) -> None:
        line = progress_line(run_id, summary)
        state = summary.get("state") if summary else None
        due = time.monotonic() - printed["at"] >= every
        if state != printed["state"] or (line != printed["line"] and due):
            printed.update(state=state, line=line, at=time.monotonic())
            note(line)

    yield update


def progress_line(run_id: str, summary: dict[str, Any] | None) -> str:
    if summary is None:
        return f"run {run_id}: waiting for it to start"
    return f"run {run_id}: {summary.get('state')}, {summary.get('total', 0)} records so far"
