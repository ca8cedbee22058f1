"""SIGTERM to a worker: its delivery in flight is finished (and acked) or given back to the queue, never
lost, and the process exits within its bound (``RECRUIT_SYNC_SHUTDOWN_SECONDS``, FastStream's graceful
timeout set by ``runtime.broker.make_broker``). A real process on the real broker (``slow_worker.py``)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import asyncpg
import pytest

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import FetchCompleted
from recruit_sync.runtime.broker import declare_topology, encode_event, shutdown_seconds_from_env

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("slow_worker.py")
QUEUE = topology.HISTORY_EVENTS
MARGIN = 5.0  # seconds beyond the bound for the interpreter to start and stop: generous on a busy machine


@dataclass
class Setup:
    amqp_url: str
    database_url: str
    migrations: Path
    log: Path

    def env(self, handler_seconds: float, shutdown_seconds: float) -> dict[str, str]:
        return {
            **os.environ,
            "AMQP_URL": self.amqp_url,
            "DATABASE_URL": self.database_url,
            "SLOW_WORKER_MIGRATIONS": str(self.migrations),
            "SLOW_WORKER_LOG": str(self.log),
            "SLOW_WORKER_SECONDS": str(handler_seconds),
            "RECRUIT_SYNC_SHUTDOWN_SECONDS": str(shutdown_seconds),
        }

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    async def handled(self) -> list[str]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return [row["run_id"] for row in await connection.fetch("SELECT run_id FROM slow_worker.handled")]
        finally:
            await connection.close()


@pytest.fixture
async def setup(amqp_url: str, database_url: str, tmp_path: Path) -> Setup:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_handled.sql").write_text("CREATE TABLE handled (run_id text NOT NULL);")
    ready = Setup(amqp_url, database_url, migrations, tmp_path / "worker.log")
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), "migrate", env=ready.env(0, 1)
    )
    assert await asyncio.wait_for(migrate.wait(), 60) == 0
    await declare_topology(amqp_url)
    return ready


@contextmanager
def worker(
    setup: Setup, handler_seconds: float, shutdown_seconds: float
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, str(WORKER)],
        env=setup.env(handler_seconds, shutdown_seconds),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def publish(amqp_url: str, run_id: str) -> None:
    event = FetchCompleted(
        run_id=run_id,
        sync_id="s",
        batch_count=0,
        record_count=0,
        api_calls=0,
        credits=0,
        started_at=datetime.now(UTC),
        correlation_id=run_id,
    )
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(topology.EVENTS_EXCHANGE)
        message = aio_pika.Message(
            encode_event(event), correlation_id=run_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        )
        await exchange.publish(message, routing_key=topology.FETCH_COMPLETED)


async def ready_in(amqp_url: str, queue: str) -> int:
    """Messages ready in ``queue`` (neither acked nor held by a consumer)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


def wait_for_line(log: Path, line: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while line not in (log.read_text() if log.exists() else ""):
        if process.poll() is not None:
            raise AssertionError(
                f"the worker exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        assert time.monotonic() < deadline, f"no {line!r} within {timeout} s"
        time.sleep(0.05)


def sigterm_and_time(process: subprocess.Popen[bytes], bound: float) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=bound + MARGIN)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {bound + MARGIN} s after SIGTERM") from None
    return time.monotonic() - started


def test_the_bound_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECRUIT_SYNC_SHUTDOWN_SECONDS", raising=False)
    assert shutdown_seconds_from_env() == 20.0
    monkeypatch.setenv("RECRUIT_SYNC_SHUTDOWN_SECONDS", "2.5")
    assert shutdown_seconds_from_env() == 2.5
    monkeypatch.setenv("RECRUIT_SYNC_SHUTDOWN_SECONDS", "0")
    with pytest.raises(ValueError, match="RECRUIT_SYNC_SHUTDOWN_SECONDS must be between 0 and 3600"):
        shutdown_seconds_from_env()


async def test_a_delivery_in_flight_is_finished_and_acked_before_the_worker_exits(setup: Setup) -> None:
    with worker(setup, handler_seconds=2.0, shutdown_seconds=15.0) as process:
        await publish(setup.amqp_url, "run-finished")
        await asyncio.to_thread(wait_for_line, setup.log, "started run-finished", process)
        took = await asyncio.to_thread(sigterm_and_time, process, 15.0)
    assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
    assert "done run-finished" in setup.log_text()  # finished, not cut off
    assert await setup.handled() == ["run-finished"]  # committed
    assert took < 15.0  # it waited for the handler (about 2 s), not for the whole bound
    assert await ready_in(setup.amqp_url, QUEUE) == 0  # acked: not delivered again
    assert await ready_in(setup.amqp_url, topology.dlq_name(QUEUE)) == 0


async def test_a_delivery_that_outlasts_the_bound_goes_back_to_its_queue_and_is_handled_later(
    setup: Setup,
) -> None:
    with worker(setup, handler_seconds=120.0, shutdown_seconds=1.0) as process:
        await publish(setup.amqp_url, "run-requeued")
        await asyncio.to_thread(wait_for_line, setup.log, "started run-requeued", process)
        took = await asyncio.to_thread(sigterm_and_time, process, 1.0)
    assert "done run-requeued" not in setup.log_text()
    assert took < 1.0 + MARGIN  # the handler held a database transaction open: that did not hold it up
    assert await setup.handled() == []  # its transaction rolled back
    assert await ready_in(setup.amqp_url, QUEUE) == 1  # given back, unacknowledged: not lost
    with worker(setup, handler_seconds=0.0, shutdown_seconds=5.0) as process:
        await asyncio.to_thread(wait_for_line, setup.log, "done run-requeued", process)
        await asyncio.to_thread(sigterm_and_time, process, 5.0)
    assert setup.log_text().count("started run-requeued") == 2
    assert await setup.handled() == ["run-requeued"]  # once: not lost, not doubled
    assert await ready_in(setup.amqp_url, QUEUE) == 0
    assert await ready_in(setup.amqp_url, topology.dlq_name(QUEUE)) == 0
