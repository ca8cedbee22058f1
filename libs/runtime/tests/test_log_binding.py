"""The consumer path binds each delivery's run and sync to every log line of its handling: the
decoders (``decoder``, ``any_event``) bind ``run_id`` and ``sync_id`` from the event, RunCompleted's from
its summary. In memory (``TestRabbitBroker``): the same decoders and middlewares as on the real broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog
from faststream.rabbit import TestRabbitBroker

from recruit_sync.contracts.events import FetchCompleted, RunCompleted, RunState, RunSummary
from recruit_sync.runtime.broker import any_event, decoder, encode_event, make_broker
from recruit_sync.runtime.logging import configure_logging

STARTED = datetime(2026, 11, 30, tzinfo=UTC)


def _fetched() -> bytes:
    # not a module constant: test_consumer_path counts the FetchCompleted objects still alive
    fetched = FetchCompleted(
        run_id="run-1",
        sync_id="sync-1",
        batch_count=1,
        record_count=2,
        api_calls=1,
        credits=3,
        started_at=STARTED,
        correlation_id="run-1",
    )
    return encode_event(fetched)


COMPLETED = RunCompleted(
    summary=RunSummary(
        run_id="run-2",
        sync_id="sync-2",
        state=RunState.SUCCEEDED,
        trigger=None,
        started_at=STARTED,
        finished_at=None,
    ),
    correlation_id="run-2",
)


@pytest.fixture
def json_lines(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call it to log JSON lines to capsys's stream (which only exists once the test runs), then again
    to read them."""
    monkeypatch.setenv("RECRUIT_SYNC_LOG_FORMAT", "json")
    configured = False

    def read() -> list[dict[str, Any]]:
        nonlocal configured
        if not configured:
            configure_logging("tester")
            structlog.configure(cache_logger_on_first_use=False)
            configured = True
            return []
        return [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]

    yield read
    structlog.reset_defaults()  # the configured logger writes to capsys's stream, closed after this test
    structlog.contextvars.clear_contextvars()


async def test_a_handlers_log_lines_name_the_run_and_the_sync(json_lines: Any) -> None:
    json_lines()
    broker = make_broker("amqp://guest:guest@localhost:5672/", consumer="tester")

    @broker.subscriber("fetched", decoder=decoder(FetchCompleted))
    async def on_fetched(event: FetchCompleted) -> None:
        structlog.get_logger().info("fetched handled", records=event.record_count)

    @broker.subscriber("completed", decoder=decoder(RunCompleted))
    async def on_completed(event: RunCompleted) -> None:
        structlog.get_logger().info("completed handled")

    broker.subscriber("history-like", decoder=any_event)(_log_any)

    async with TestRabbitBroker(broker):
        await broker.publish(_fetched(), "fetched", correlation_id="run-1")
        await broker.publish(encode_event(COMPLETED), "completed", correlation_id="run-2")
        await broker.publish(encode_event(COMPLETED), "history-like", correlation_id="run-2")

    lines = {line["event"]: line for line in json_lines()}
    assert (lines["fetched handled"]["run_id"], lines["fetched handled"]["sync_id"]) == ("run-1", "sync-1")
    assert (lines["completed handled"]["run_id"], lines["completed handled"]["sync_id"]) == (
        "run-2",
        "sync-2",
    )
    assert (lines["any event handled"]["run_id"], lines["any event handled"]["sync_id"]) == (
        "run-2",
        "sync-2",
    )
    assert all(line["service"] == "tester" for line in lines.values())


async def _log_any(event: Any) -> None:
    structlog.get_logger().info("any event handled", type=event.type)
