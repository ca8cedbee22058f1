"""One run is one trace, from its SyncDue to its RunCompleted, on the real broker.

The run's root span publishes the SyncDue (as the scheduler's tick does); stand-ins for the fetcher and
the importer (the services' broker and consumer path, ``make_broker``) pass it on as RecordBatches,
BatchImporteds and a FetchCompleted; the real history service records them and emits the RunCompleted
through its outbox. Every span recorded meanwhile, in every consumer and publisher, is in the root's
trace, and so is the RunCompleted's ``traceparent`` header.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import aio_pika
import asyncpg
import pytest
from faststream import TestApp
from faststream.rabbit import RabbitBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import Outcome, RecordBatch, SyncDue
from recruit_sync.history.app import SERVICE
from recruit_sync.runtime import tracing
from recruit_sync.runtime.broker import decoder, make_broker, publish_event, work_queue
from recruit_sync.runtime.service import build_app
from recruit_sync.runtime.settings import Settings

from .conftest import RunEvents

pytestmark = pytest.mark.integration

ROUTING_KEY = "messaging.rabbitmq.destination.routing_key"


def _stand_ins(amqp_url: str, run: RunEvents) -> RabbitBroker:
    """The fetcher (two batches, then FetchCompleted) and the importer (each batch imported)."""
    broker = make_broker(amqp_url, consumer="stand-ins")

    @broker.subscriber(work_queue(topology.FETCHER_SYNC_DUE), decoder=decoder(SyncDue))
    async def fetch(due: SyncDue) -> None:
        for seq in range(2):
            batch = RecordBatch(
                correlation_id=due.run_id,
                run_id=due.run_id,
                sync_id=due.sync_id,
                seq=seq,
                module=due.module,
                settings=due.settings,
                records=[{"id": str(seq), "Email": f"p{seq}@example.com"}],
            )
            await publish_event(broker, batch)
        await publish_event(broker, run.fetch_completed(2, 2))

    @broker.subscriber(work_queue(topology.IMPORTER_RECORD_BATCH), decoder=decoder(RecordBatch))
    async def import_batch(batch: RecordBatch) -> None:
        record = batch.records[0]
        await publish_event(
            broker, run.batch(batch.seq, [run.record(record["id"], record["Email"], Outcome.NEW)])
        )

    return broker


async def _next(
    queue: aio_pika.abc.AbstractQueue, timeout: float = 20
) -> aio_pika.abc.AbstractIncomingMessage:
    async with queue.iterator(timeout=timeout) as messages:
        async for message in messages:
            await message.ack()
            return message
    raise AssertionError("no RunCompleted")


def _routing_keys(spans: list[ReadableSpan], kind: trace.SpanKind) -> set[Any]:
    return {(span.attributes or {}).get(ROUTING_KEY) for span in spans if span.kind is kind}


async def test_one_run_is_one_trace_from_sync_due_to_run_completed(
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    event_queue: Any,
    publisher: RabbitBroker,
    run: RunEvents,
    spans: InMemorySpanExporter,
) -> None:
    run_completed: aio_pika.abc.AbstractQueue = await event_queue(topology.RUN_COMPLETED)
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, amqp_url=amqp_url)
    stand_ins = _stand_ins(amqp_url, run)
    async with TestApp(build_app(SERVICE, settings)):
        await stand_ins.start()
        try:
            with tracing.run_span(run.run_id, run.sync_id) as root:
                await publish_event(publisher, run.sync_due())
            run_trace = root.get_span_context().trace_id
            message = await _next(run_completed)
            # the last spans (history's consumer of the last event) end just after what they published
            for _ in range(100):
                finished = list(spans.get_finished_spans())
                if {topology.BATCH_IMPORTED, topology.FETCH_COMPLETED} <= _routing_keys(
                    finished, trace.SpanKind.CONSUMER
                ) and topology.RUN_COMPLETED in _routing_keys(finished, trace.SpanKind.PRODUCER):
                    break
                await asyncio.sleep(0.1)
        finally:
            await stand_ins.stop()

    assert message.correlation_id == run.run_id
    assert message.headers is not None
    assert int(str(message.headers["traceparent"]).split("-")[1], 16) == run_trace
    stored = await pool.fetchval(
        "SELECT trace_context FROM outbox WHERE routing_key = $1", topology.RUN_COMPLETED
    )
    assert int(stored["traceparent"].split("-")[1], 16) == run_trace

    finished = list(spans.get_finished_spans())
    assert {span.context.trace_id for span in finished} == {run_trace}, [
        (span.name, span.context.trace_id) for span in finished if span.context.trace_id != run_trace
    ]
    consumed = [
        span for span in finished if span.kind is trace.SpanKind.CONSUMER and span.name.endswith("process")
    ]
    # SyncDue twice (the fetcher, history), two batches, two BatchImported, one FetchCompleted
    assert len(consumed) == 7, [span.name for span in consumed]
    assert _routing_keys(consumed, trace.SpanKind.CONSUMER) == {
        topology.SYNC_DUE,
        topology.RECORD_BATCH,
        topology.BATCH_IMPORTED,
        topology.FETCH_COMPLETED,
    }
    assert topology.RUN_COMPLETED in _routing_keys(finished, trace.SpanKind.PRODUCER)
