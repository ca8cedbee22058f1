"""The scheduler's tick opens each run's trace: the root span is started when the SyncDue is written to
the outbox, the row keeps that context, and the relay publishes the SyncDue in it (its ``traceparent``
header names the run's trace) although the publish happens after the span has ended, outside it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recruit_sync.contracts import topology
from recruit_sync.contracts.ids import run_id_for_schedule
from recruit_sync.scheduler.runs import emit_due_runs

from .conftest import START, Scheduler

pytestmark = pytest.mark.integration


def _trace_id(traceparent: Any) -> int:
    return int(str(traceparent).split("-")[1], 16)  # version-traceid-spanid-flags


async def test_the_tick_starts_the_runs_trace_and_the_relayed_sync_due_carries_it(
    scheduler: Scheduler,
    spans: InMemorySpanExporter,
    event_queue: Callable[[str], Awaitable[aio_pika.abc.AbstractQueue]],
) -> None:
    queue = await event_queue(topology.SYNC_DUE)
    await scheduler.add_connection()
    sync_id = await scheduler.create_sync()  # schedule once, no time: due now
    assert trace.get_current_span().get_span_context().is_valid is False  # the tick runs outside any trace

    assert await emit_due_runs(scheduler.deps) == 1

    run_id = run_id_for_schedule(sync_id, START)
    [root] = [span for span in spans.get_finished_spans() if span.name == "run start"]
    assert root.parent is None  # a trace of its own
    assert root.attributes is not None
    assert (root.attributes["recruit_sync.run_id"], root.attributes["recruit_sync.sync_id"]) == (
        run_id,
        sync_id,
    )
    assert root.attributes["recruit_sync.trigger"] == "schedule"
    run_trace = root.context.trace_id

    async with scheduler.deps.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT trace_context FROM outbox WHERE routing_key = $1", topology.SYNC_DUE
        )
    assert _trace_id(stored["traceparent"]) == run_trace

    message = await queue.get(timeout=10)
    assert message.correlation_id == run_id
    assert message.headers is not None
    assert _trace_id(message.headers["traceparent"]) == run_trace
    # the relay's publish spans belong to the run's trace too
    publishes = [span for span in spans.get_finished_spans() if span.kind is trace.SpanKind.PRODUCER]
    assert {span.context.trace_id for span in publishes} == {run_trace}
    assert any(span.name.endswith(f"{topology.SYNC_DUE} publish") for span in publishes)
