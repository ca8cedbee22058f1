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


def show_alerts(notifications: Sequence[dict[str, Any]]) -> None:
    """``recruit-sync alerts SYNC``: each notification and how its delivery went."""
    rows = [
        {**n, "created": when(n.get("created_at")), "delivered": when(n.get("delivered_at"))}
        for n in notifications
    ]
    columns = ["created", "event", "channel", "target", "status", "attempts", "last_error", "delivered"]
    table(rows, [*columns, "run_id"], "alert notifications (newest first)")


def show_runs(runs: Sequence[dict[str, Any]]) -> None:
    rows = [{**run, "started": when(run.get("started_at")), "outcomes": outcomes(run)} for run in runs]
    table(
        rows, ["run_id", "state", "trigger", "started", "total", "outcomes", "error"], "runs (newest first)"
    )


def count_keys(*summaries: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, path) of a run summary's counts, in the order ``runs show`` prints them: total, each
    outcome, the ignore reasons non-zero in any of ``summaries`` (path ``ignored_by_reason.R``), deleted."""
    ignored = [summary.get("ignored_by_reason") or {} for summary in summaries]
    reasons = [r.value for r in IgnoreReason if any(by_reason.get(r.value) for by_reason in ignored)]
    return [
        ("total", "total"),
        *((column, column) for column in OUTCOME_COLUMNS if column != "deleted"),
        *((f"  ignored: {reason}", f"ignored_by_reason.{reason}") for reason in reasons),
        ("deleted", "deleted"),
    ]


def count_of(summary: dict[str, Any], path: str) -> Any:
    key, _, reason = path.partition(".")
    return (summary.get(key) or {}).get(reason, 0) if reason else summary.get(key)


def counts(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(label, count_of(summary, path)) for label, path in count_keys(summary)]


def show_run(summary: dict[str, Any]) -> None:
    pairs(
        f"run {summary.get('run_id')}",
        [
            ("sync", summary.get("sync_id")),
            ("state", summary.get("state")),
            ("trigger", summary.get("trigger")),
            ("started", when(summary.get("started_at"))),
            ("finished", when(summary.get("finished_at"))),
            ("duration", duration(summary)),
            *counts(summary),
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


def show_dry_run(dry_run: dict[str, Any]) -> None:
    """What history recorded beside what today's code decides, each record decided otherwise, and the
    verdict last (a difference is an answer, not an error: the exit code stays 0)."""
    recorded, replayed = dry_run.get("recorded") or {}, dry_run.get("replayed") or {}
    grid = Table(title=f"dry run of run {dry_run.get('run_id')}", title_justify="left")
    grid.add_column("count", style="bold")
    grid.add_column("recorded", justify="right")
    grid.add_column("replayed", justify="right")
    for label, path in count_keys(recorded, replayed):
        grid.add_row(label, text(count_of(recorded, path)), text(count_of(replayed, path)))
    out.print(grid)
    differences = dry_run.get("differences") or []
    lines = [
        (
            f"record {text(d.get('record_id'))}",
            text(d.get("email")),
            f"recorded {decision(d.get('recorded'), d.get('recorded_reason'))}",
            f"replayed {decision(d.get('replayed'), d.get('replayed_reason'))}",
        )
        for d in differences
    ]
    widths = [max((len(line[i]) for line in lines), default=0) for i in range(3)]
    for line in lines:
        padded = [part.ljust(width) for part, width in zip(line[:3], widths, strict=True)]
        print("  ".join([*padded, line[3]]))
    total = dry_run.get("differences_total", len(differences))
    verdict = "reproduces: 0 differences" if not total else f"{total} difference{'s' if total != 1 else ''}"
    print(verdict + (f" (showing the first {len(differences)})" if total > len(differences) else ""))


def decision(outcome: str | None, reason: str | None) -> str:
    """``ignored (role_address)``; ``nothing`` when that side did not decide the record at all."""
    return f"{outcome or 'nothing'}{f' ({reason})' if reason else ''}"


def show_preview(preview: dict[str, Any]) -> None:
    """What a run would do now: its counts as ``runs show`` prints them, a few records of each outcome,
    and what fetching cost in Recruit."""
    summary = preview.get("summary") or {}
    pairs("preview (nothing written)", counts(summary))
    samples = preview.get("samples") or {}
    for outcome in OUTCOME_COLUMNS:
        rows = samples.get(outcome) or []
        if rows:
            columns = ["record_id", "email", *(["reason"] if outcome == "ignored" else [])]
            table(rows, columns, f"{outcome}: {len(rows)} of {text(summary.get(outcome))}")
    print(f"api calls: {text(preview.get('api_calls'))}, credits: {text(preview.get('credits'))}")


@contextmanager
def waiting(what: str) -> Iterator[None]:
    """A spinner on stderr while a long call runs, on a terminal only (a log needs no spinner)."""
    if not err.is_terminal:
        yield
        return
    with err.status(what):
        yield


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


# --- dead letters ------------------------------------------------------------------------------------


def age(seconds: float | None) -> str:
    """``42 s``, ``5 min``, ``3 h``, ``2 d``: how long a message has waited, at a glance."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def show_dead_letters(queues: Sequence[dict[str, Any]]) -> None:
    """One line per work queue with its count, then each non-empty DLQ's messages, oldest first."""
    table(
        [{"queue": q["queue"], "dead_lettered": q["count"]} for q in queues],
        ["queue", "dead_lettered"],
        "dead-letter queues",
    )
    for queue in queues:
        messages = queue["messages"]
        if not messages:
            continue
        shown = "" if len(messages) == queue["count"] else f", the oldest {len(messages)} shown"
        rows = [{**m, "age": age(m.get("age_seconds"))} for m in messages]
        table(
            rows,
            ["age", "reason", "run_id", "event_type", "message_id", "retries"],
            f"{queue['dlq']} ({queue['count']}{shown})",
        )
