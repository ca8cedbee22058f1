"""A run's logs and trace through the real services (``services up``, driven by the CLI).

With ``RECRUIT_SYNC_LOG_FORMAT=json`` every service logs JSON lines, and each line of the run's work
(the fetcher's, the importer's, history's) names its ``run_id`` and ``sync_id``. With tracing on
(``OTEL_TRACES_EXPORTER=console``: the spans are printed), one run is one trace: every span of every
service that handled one of the run's messages, from the SyncDue to the scheduler's handling of the
RunCompleted, has the same trace id, the same one the log lines name.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recruit_sync.contracts import topology
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parents[3] / "tests" / "e2e" / "data" / "small.json"
WORKERS = ("fetcher", "importer", "history")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {
        "RECRUIT_SYNC_LOG_FORMAT": "json",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    with Stack(tmp_path_factory.mktemp("stack"), sim_data=str(DATA), extra_env=env) as running:
        yield running


def _output(stack: Stack) -> dict[str, list[str]]:
    """Each child's lines of ``services up``'s output (``<name> | <line>``), by service name."""
    lines: dict[str, list[str]] = defaultdict(list)
    for line in (stack.workdir / "services.log").read_text(errors="replace").splitlines():
        name, sep, rest = line.partition(" | ")
        if sep:
            lines[name.strip().split("-")[0].split(".")[0]].append(rest)
    return lines


def _log_lines(lines: list[str]) -> list[dict[str, Any]]:
    parsed = []
    for line in lines:
        if line.startswith("{") and line.endswith("}"):
            entry = json.loads(line)
            if "event" in entry:
                parsed.append(entry)
    return parsed


def _spans(lines: list[str]) -> list[dict[str, Any]]:
    """The spans the console exporter printed (indented JSON objects, one line per key)."""
    spans, buffer = [], None
    for line in lines:
        if line == "{":
            buffer = [line]
        elif buffer is not None:
            buffer.append(line)
            if line == "}":
                spans.append(json.loads("\n".join(buffer)))
                buffer = None
    return spans


def test_a_runs_log_lines_name_it_and_its_spans_make_one_trace(stack: Stack) -> None:
    stack.add_connection()
    sync_id = stack.create_sync({"name": "Observed", "connection": "acme-recruit", "list": "Observed list"})
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", summary
    run_id = summary["run_id"]

    # the scheduler handles the RunCompleted after the CLI has seen the run finish: wait for its span, and
    # for history's last line (each child's output is relayed by its own thread: one may lag another)
    deadline = time.monotonic() + 60
    while True:
        output = _output(stack)
        history_finished = any(
            e.get("run_id") == run_id and e["event"] == "run finished" for e in _log_lines(output["history"])
        )
        run_spans = [
            span
            for name in output
            for span in _spans(output[name])
            if span["attributes"].get("messaging.message.conversation_id") == run_id
        ]
        completed = [
            span
            for span in run_spans
            if span["kind"] == "SpanKind.CONSUMER"
            and span["attributes"].get("messaging.rabbitmq.destination.routing_key") == topology.RUN_COMPLETED
        ]
        if (completed and history_finished) or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    # logs: JSON lines; those of the run's work name the run and its sync
    for name in (*WORKERS, "scheduler"):
        assert _log_lines(output[name]), f"no JSON log line from {name}: {output[name][:5]}"
    of_the_run = {
        name: [e for e in _log_lines(output[name]) if e.get("run_id") == run_id] for name in WORKERS
    }
    assert {e["event"] for e in of_the_run["fetcher"]} >= {"fetch finished"}
    assert {e["event"] for e in of_the_run["importer"]} >= {"batch imported"}
    assert {e["event"] for e in of_the_run["history"]} >= {"run finished"}
    for entries in of_the_run.values():
        for entry in entries:
            assert entry["sync_id"] == sync_id, entry
    for name in WORKERS:  # no line bound to a run but not to its sync
        assert [e for e in _log_lines(output[name]) if e.get("run_id") and not e.get("sync_id")] == []

    # traces: every span of the run's messages, in every service, in one trace; the log lines name it
    assert completed, "the scheduler's RunCompleted span was not printed"
    trace_ids = {span["context"]["trace_id"] for span in run_spans}
    assert len(trace_ids) == 1, trace_ids
    [trace_id] = trace_ids
    keys = {span["attributes"].get("messaging.rabbitmq.destination.routing_key") for span in run_spans}
    assert keys >= {topology.SYNC_DUE, topology.RECORD_BATCH, topology.BATCH_IMPORTED, topology.RUN_COMPLETED}
    # the trace's root: the scheduler's span starting the run
    [root] = [
        span
        for span in _spans(output["scheduler"])
        if span["name"] == "run start" and span["attributes"].get("recruit_sync.run_id") == run_id
    ]
    assert (root["context"]["trace_id"], root["parent_id"]) == (trace_id, None)
    assert {f"0x{e['trace_id']}" for entries in of_the_run.values() for e in entries} == {trace_id}
