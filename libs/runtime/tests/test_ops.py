"""The ops port (``runtime.ops``): ``/metrics``, ``/health/live`` and ``/health/ready`` of a service
started by ``runtime.service.build_app``, on the real broker and database; ready follows a private
PostgreSQL server (``tests.faults.postgres``) down and back up."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from faststream import TestApp
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import RunCompleted, RunState, RunSummary, Trigger
from recruit_sync.runtime import metrics
from recruit_sync.runtime.broker import EVENTS, decoder, make_broker, publish_event, work_queue
from recruit_sync.runtime.db import migrate
from recruit_sync.runtime.ops import OpsServer, latest_migration
from recruit_sync.runtime.service import Resources, Service, build_app
from recruit_sync.runtime.settings import Settings
from tests.faults.postgres import PrivatePostgres, free_port

BOUND = 30.0  # seconds: generous, for a busy machine


async def eventually(seconds: float, condition: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        await asyncio.sleep(0.2)


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


# ------------------------------------------------------------------------------------ the responder


async def test_the_ops_server_answers_its_three_paths_and_nothing_else() -> None:
    reason: list[str | None] = [None]

    async def ready() -> str | None:
        return reason[0]

    server = OpsServer(0, ready, host="127.0.0.1")
    assert await server.start()
    try:
        live = await get(server.port, "/health/live")
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        assert (await get(server.port, "/health/ready")).status_code == 200
        reason[0] = "broker not connected"
        not_ready = await get(server.port, "/health/ready")
        assert not_ready.status_code == 503 and not_ready.json()["reason"] == "broker not connected"
        metrics.count_outcomes("ops-test-sync", [])  # (no outcomes: nothing counted)
        page = await get(server.port, "/metrics")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
        assert "# TYPE recruit_sync_records_total counter" in page.text
        assert (await get(server.port, "/nothing")).status_code == 404
        async with httpx.AsyncClient() as client:
            assert (await client.post(f"http://127.0.0.1:{server.port}/metrics")).status_code == 405
    finally:
        await server.stop()


async def test_a_taken_port_is_logged_and_does_not_stop_the_process() -> None:
    first = OpsServer(0, host="127.0.0.1")
    assert await first.start()
    try:
        assert not await OpsServer(first.port, host="127.0.0.1").start()
    finally:
        await first.stop()


async def test_a_ready_check_that_hangs_is_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("recruit_sync.runtime.ops.READY_TIMEOUT", 0.2)

    async def hangs() -> str | None:
        await asyncio.sleep(60)
        return None

    server = OpsServer(0, hangs, host="127.0.0.1")
    assert await server.start()
    try:
        answer = await get(server.port, "/health/ready")
        assert answer.status_code == 503 and "longer than" in answer.json()["reason"]
    finally:
        await server.stop()


def test_the_latest_migration_is_the_last_file_by_name(tmp_path: Path) -> None:
    assert latest_migration(None) is None
    (tmp_path / "0002_b.sql").write_text("")
    (tmp_path / "0010_c.sql").write_text("")
    (tmp_path / "0001_a.sql").write_text("")
    assert latest_migration(tmp_path) == "0010_c"


# ------------------------------------------------------------------------------ a service's ops port


def stand_in(migrations: Path, handled: list[RunCompleted]) -> Service:
    def subscribe(broker: RabbitBroker, resources: Resources) -> None:
        @broker.subscriber(
            work_queue(topology.SCHEDULER_RUN_COMPLETED), EVENTS, decoder=decoder(RunCompleted)
        )
        async def on_completed(event: RunCompleted) -> None:
            handled.append(event)

    return Service("ops_stand_in", migrations=migrations, subscribe=subscribe)


def completed(run_id: str) -> RunCompleted:
    now = datetime.now(UTC)
    summary = RunSummary(
        run_id=run_id,
        sync_id="s1",
        trigger=Trigger.MANUAL,
        state=RunState.SUCCEEDED,
        started_at=now,
        finished_at=now,
    )
    return RunCompleted(summary=summary, correlation_id=run_id)


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "0001_things.sql").write_text("CREATE TABLE things (id int);")
    return directory


@pytest.fixture
def ops_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    port = free_port()
    monkeypatch.setenv("RECRUIT_SYNC_OPS_PORT", str(port))
    monkeypatch.setenv("RECRUIT_SYNC_OPS_HOST", "127.0.0.1")
    yield port


def settings_for(amqp_url: str, database_url: str) -> Settings:
    return dataclasses.replace(Settings.from_env(), amqp_url=amqp_url, database_url=database_url)


@pytest.mark.integration
async def test_a_service_serves_metrics_and_health_on_its_ops_port(
    amqp_url: str, database_url: str, migrations: Path, ops_port: int
) -> None:
    await migrate(database_url, "ops_stand_in", migrations)
    handled: list[RunCompleted] = []
    async with TestApp(build_app(stand_in(migrations, handled), settings_for(amqp_url, database_url))):
        assert (await get(ops_port, "/health/live")).status_code == 200
        ready = await get(ops_port, "/health/ready")
        assert ready.status_code == 200, ready.text
        publisher = make_broker(amqp_url, consumer="ops-test-publisher")
        await publisher.connect()
        try:
            for n in range(3):
                await publish_event(publisher, completed(f"ops-run-{n}"))
        finally:
            await publisher.stop()

        async def three_handled() -> bool:
            return len(handled) == 3

        await eventually(BOUND, three_handled)
        page = (await get(ops_port, "/metrics")).text
        # FastStream's middleware: this service's deliveries, by handler and status
        line = next(
            (
                row
                for row in page.splitlines()
                if row.startswith("faststream_received_processed_messages_total{")
                and 'app_name="ops_stand_in"' in row
                and 'status="acked"' in row
            ),
            None,
        )
        assert line is not None, page
        assert float(line.rsplit(" ", 1)[1]) == 3.0

        # a migration the service knows but its schema lacks: not ready, named
        (migrations / "0002_more.sql").write_text("CREATE TABLE more (id int);")
    # (the Service read its latest migration when it was built: build it again)
    async with TestApp(build_app(stand_in(migrations, handled), settings_for(amqp_url, database_url))):
        answer = await get(ops_port, "/health/ready")
        assert answer.status_code == 503 and "0002_more" in answer.json()["reason"]
    # and no ops port once the process is stopped
    with pytest.raises(httpx.ConnectError):
        await get(ops_port, "/health/live")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.integration
async def test_ready_turns_false_when_postgres_stops_and_true_when_it_returns(
    amqp_url: str, private_postgres: PrivatePostgres, migrations: Path, ops_port: int
) -> None:
    admin = await asyncpg.connect(private_postgres.url)
    try:
        await admin.execute("CREATE DATABASE ops_test")
    finally:
        await admin.close()
    database_url = private_postgres.url.rsplit("/", 1)[0] + "/ops_test"
    await migrate(database_url, "ops_stand_in", migrations)
    async with TestApp(build_app(stand_in(migrations, []), settings_for(amqp_url, database_url))):

        async def ready_is(status: int) -> bool:
            return (await get(ops_port, "/health/ready")).status_code == status

        await eventually(BOUND, lambda: ready_is(200))
        await asyncio.to_thread(private_postgres.stop)
        await eventually(BOUND, lambda: ready_is(503))
        answer = await get(ops_port, "/health/ready")
        assert "database unreachable" in answer.json()["reason"]
        assert (await get(ops_port, "/health/live")).status_code == 200  # live: the process answers
        await asyncio.to_thread(private_postgres.start)
        await eventually(BOUND, lambda: ready_is(200))
