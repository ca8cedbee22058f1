"""Fixtures every test tier shares: a private PostgreSQL database and a private RabbitMQ vhost per test.

When a Docker engine answers, the servers come from testcontainers (pinned images); otherwise from
``DATABASE_URL`` / ``AMQP_URL`` (defaults: this machine's local services). Each test gets its own
database and vhost, dropped afterwards, so tests can run in parallel and leave nothing behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/recruit_sync"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
RABBITMQ_IMAGE = "rabbitmq:3.13-management"
POSTGRES_IMAGE = "postgres:16.4"


def _docker_engine_answers() -> bool:
    if os.environ.get("RECRUIT_SYNC_NO_TESTCONTAINERS") or not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    """(database server URL, broker URL) for the whole session."""
    if not _docker_engine_answers():
        yield (
            os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            os.environ.get("AMQP_URL", DEFAULT_AMQP_URL),
        )
        return
    from testcontainers.community.postgres import PostgresContainer  # type: ignore[import-untyped]
    from testcontainers.community.rabbitmq import RabbitMqContainer  # type: ignore[import-untyped]

    with PostgresContainer(POSTGRES_IMAGE, driver=None) as pg, RabbitMqContainer(RABBITMQ_IMAGE) as mq:
        amqp = f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"
        yield (pg.get_connection_url(), amqp)


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@pytest.fixture
async def database_url(servers: tuple[str, str]) -> AsyncIterator[str]:
    """A fresh, empty database for this test."""
    server = servers[0]
    name = f"rs_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_with_path(server, "/postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _with_path(server, f"/{name}")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def amqp_url(servers: tuple[str, str]) -> Iterator[str]:
    """A fresh vhost for this test (created with rabbitmqctl on a local broker)."""
    server = servers[1]
    vhost = f"rs_test_{uuid.uuid4().hex[:16]}"
    _rabbitmqctl("add_vhost", vhost)
    user = urlsplit(server).username or "guest"
    _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    try:
        yield _with_path(server, f"/{vhost}")
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
async def publisher(amqp_url: str) -> AsyncIterator[Any]:
    """Another process's broker connection (the topology declared): publishes events as a service would."""
    from recruit_sync.runtime.broker import declare_topology, make_broker

    await declare_topology(amqp_url)
    broker = make_broker(amqp_url, consumer="test-publisher")
    await broker.connect()
    yield broker
    await broker.stop()


@pytest.fixture
async def event_queue(amqp_url: str) -> AsyncIterator[Callable[[str], Awaitable[Any]]]:
    """``await event_queue(routing_key)``: a private queue bound to that event, as its consumer's would be."""
    import aio_pika

    from recruit_sync.contracts import topology
    from recruit_sync.runtime.broker import declare_topology

    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()

    async def bind(routing_key: str) -> aio_pika.abc.AbstractQueue:
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(topology.EVENTS_EXCHANGE, routing_key=routing_key)
        return queue

    yield bind
    await connection.close()


@pytest.fixture
def spans() -> Iterator[Any]:
    """The OpenTelemetry spans this test finishes, in memory (the process's tracer provider is set once,
    then shared)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()
