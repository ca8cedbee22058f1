"""OpenTelemetry traces: one run is one trace, from its ``SyncDue`` to its ``RunCompleted``.

Off unless the standard ``OTEL_*`` variables configure it (``configure_tracing``): an exporter
(``OTEL_TRACES_EXPORTER``: ``otlp``, the default once an endpoint is set, ``console`` or ``none``) or an
OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, OTLP over
HTTP/protobuf); ``OTEL_SDK_DISABLED=true`` turns it off whatever else is set. The SDK reads the rest
itself (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``,
``OTEL_EXPORTER_OTLP_HEADERS``...).

How the context travels: FastStream's ``RabbitTelemetryMiddleware`` (on every broker, ``make_broker``)
writes the W3C ``traceparent`` into each published message's headers and continues the trace in the
consumer, so whatever a handler publishes belongs to the trace of what it consumed. The outbox stores
the context with each row (``carrier``) and its relay publishes the row inside it (``attached``), so an
event published later, by another task, stays in its run's trace. The scheduler opens the run's root
span when it emits the ``SyncDue`` (``run_span``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER_NAME = "recruit_sync"
_PROPAGATOR = TraceContextTextMapPropagator()
EXPORTERS = ("otlp", "console", "none")


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def exporters_from_env(env: Mapping[str, str] | None = None) -> list[str]:
    """The span exporters the ``OTEL_*`` variables ask for; empty when tracing is off."""
    env = os.environ if env is None else env
    if _true(env.get("OTEL_SDK_DISABLED")):
        return []
    named = [name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    unknown = sorted(set(named) - set(EXPORTERS))
    if unknown:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER: unsupported exporter(s) {', '.join(unknown)}: use {EXPORTERS}"
        )
    if named:
        return [name for name in named if name != "none"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ["otlp"]
    return []


def configure_tracing(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Install the process's tracer provider when the ``OTEL_*`` variables ask for traces; True if so.

    Call once at process start. Spans leave in batches (``BatchSpanProcessor``), flushed at exit."""
    exporters = exporters_from_env(env)
    if not exporters:
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    env = os.environ if env is None else env
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"recruit-sync-{service}"}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in exporters:
        exporter: SpanExporter
        if name == "console":
            exporter = ConsoleSpanExporter(service_name=str(provider.resource.attributes.get(SERVICE_NAME)))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return True


def telemetry_middleware() -> RabbitTelemetryMiddleware:
    """FastStream's tracing middleware, through the global tracer provider (a no-op until one is set)."""
    return RabbitTelemetryMiddleware()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


@contextlib.contextmanager
def run_span(run_id: str, sync_id: str, trigger: str | None = None) -> Iterator[trace.Span]:
    """The root span of run ``run_id``: a new trace, whatever the caller's context (a manual run
    started by an RPC call is its own trace, linked to the call's)."""
    caller = trace.get_current_span().get_span_context()
    links = [trace.Link(caller)] if caller.is_valid else None
    attributes = {"recruit_sync.run_id": run_id, "recruit_sync.sync_id": sync_id}
    if trigger is not None:
        attributes["recruit_sync.trigger"] = trigger
    with tracer().start_as_current_span(
        "run start",
        context=otel_context.Context(),
        kind=trace.SpanKind.PRODUCER,
        links=links,
        attributes=attributes,
    ) as span:
        yield span


def carrier() -> dict[str, str] | None:
    """The current trace context as message headers (``traceparent``, ``tracestate``); None outside
    any trace. What the outbox stores with a row."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    headers: dict[str, str] = {}
    _PROPAGATOR.inject(headers)
    return headers or None


@contextlib.contextmanager
def attached(headers: Mapping[str, Any] | None) -> Iterator[None]:
    """Run the block in the trace context ``headers`` carry (from ``carrier``); as is without one."""
    if not headers:
        yield
        return
    token = otel_context.attach(_PROPAGATOR.extract(dict(headers)))
    try:
        yield
    finally:
        otel_context.detach(token)


def add_trace_ids(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: a line logged inside a recorded span names its ``trace_id``/``span_id``."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid and "trace_id" not in event_dict:
        event_dict["trace_id"] = format(span_context.trace_id, "032x")
        event_dict["span_id"] = format(span_context.span_id, "016x")
    return event_dict
