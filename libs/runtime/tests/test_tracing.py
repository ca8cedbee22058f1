"""Tracing is off unless the OTEL_* variables ask for it; a trace context survives being stored (the
outbox) and restored; log lines inside a span name its trace; the log format can be chosen."""

from __future__ import annotations

import json

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recruit_sync.runtime import tracing
from recruit_sync.runtime.logging import configure_logging, log_format


@pytest.mark.parametrize(
    ("env", "exporters"),
    [
        ({}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, []),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, []),
        ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, ["otlp"]),
    ],
)
def test_tracing_is_off_unless_the_otel_variables_configure_it(
    env: dict[str, str], exporters: list[str]
) -> None:
    assert tracing.exporters_from_env(env) == exporters


def test_an_unknown_exporter_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="zipkin"):
        tracing.exporters_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_configure_tracing_installs_nothing_when_off() -> None:
    before = trace.get_tracer_provider()
    assert tracing.configure_tracing("tester", {}) is False
    assert (
        tracing.configure_tracing("tester", {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"})
        is False
    )
    assert trace.get_tracer_provider() is before


def test_no_context_is_stored_outside_a_trace() -> None:
    assert tracing.carrier() is None
    with tracing.attached(None):
        assert not trace.get_current_span().get_span_context().is_valid


def test_a_stored_context_continues_the_runs_trace_elsewhere(spans: InMemorySpanExporter) -> None:
    with tracing.run_span("run-1", "sync-1", "manual") as root:
        stored = tracing.carrier()
    assert stored is not None and set(stored) >= {"traceparent"}
    stored = json.loads(json.dumps(stored))  # as the outbox's jsonb column gives it back
    with tracing.attached(stored), tracing.tracer().start_as_current_span("relayed") as relayed:
        pass
    assert not trace.get_current_span().get_span_context().is_valid  # detached again
    assert relayed.get_span_context().trace_id == root.get_span_context().trace_id
    [finished] = [span for span in spans.get_finished_spans() if span.name == "relayed"]
    assert finished.parent is not None and finished.parent.span_id == root.get_span_context().span_id


def test_a_run_span_starts_a_new_trace_linked_to_its_caller(spans: InMemorySpanExporter) -> None:
    with (
        tracing.tracer().start_as_current_span("rpc call") as call,
        tracing.run_span("run-2", "sync-2") as root,
    ):
        pass
    assert root.get_span_context().trace_id != call.get_span_context().trace_id
    [finished] = [span for span in spans.get_finished_spans() if span.name == "run start"]
    assert finished.parent is None
    assert [link.context.span_id for link in finished.links] == [call.get_span_context().span_id]
    assert finished.attributes is not None and finished.attributes["recruit_sync.run_id"] == "run-2"


def test_log_format_follows_the_terminal_unless_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECRUIT_SYNC_LOG_FORMAT", raising=False)
    assert (log_format(isatty=True), log_format(isatty=False)) == ("console", "json")
    monkeypatch.setenv("RECRUIT_SYNC_LOG_FORMAT", "json")
    assert log_format(isatty=True) == "json"
    monkeypatch.setenv("RECRUIT_SYNC_LOG_FORMAT", "console")
    assert log_format(isatty=False) == "console"
    monkeypatch.setenv("RECRUIT_SYNC_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="xml"):
        log_format(isatty=False)


def test_a_line_logged_in_a_span_names_the_trace(
    spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECRUIT_SYNC_LOG_FORMAT", "json")
    configure_logging("test")
    structlog.configure(cache_logger_on_first_use=False)
    try:
        with tracing.run_span("run-3", "sync-3") as root:
            structlog.get_logger().info("inside", run_id="run-3")
        structlog.get_logger().info("outside")
        inside, outside = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-2:])
    finally:
        structlog.reset_defaults()  # the configured logger writes to capsys's stream, closed after this test
        structlog.contextvars.clear_contextvars()
    assert inside["trace_id"] == format(root.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(root.get_span_context().span_id, "016x")
    assert "trace_id" not in outside
