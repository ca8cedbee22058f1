"""The dead-letter routes (``GET /dlq``, ``POST /dlq/{queue}/retry|purge``) against a real RabbitMQ vhost:
admins only; the API reads the broker itself (``runtime.dead_letters``), no service involved."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest
from fastapi import FastAPI

from recruit_sync.api.app import create_app
from recruit_sync.contracts import topology
from recruit_sync.contracts.access import Role
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

QUEUE = topology.IMPORTER_RECORD_BATCH
DLQ = topology.dlq_name(QUEUE)


@pytest.fixture
async def app(amqp_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(dataclasses.replace(Settings.from_env(), amqp_url=amqp_url), rpc_timeout=0.5)
    async with app.router.lifespan_context(app):  # declares the topology
        yield app


def client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers)


async def dead_letter(amqp_url: str, *bodies: bytes) -> None:
    """Messages refused by the importer's queue's consumer, dead-lettered by RabbitMQ."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for n, body in enumerate(bodies):
            await channel.default_exchange.publish(
                aio_pika.Message(body, message_id=f"m{n}", correlation_id=f"run-{n}"), routing_key=QUEUE
            )
        queue = await channel.get_queue(QUEUE)
        for _ in bodies:
            message = await queue.get(timeout=5)
            await message.reject(requeue=False)


async def in_work_queue(amqp_url: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(QUEUE, passive=True)
        return queue.declaration_result.message_count or 0


async def test_an_admin_lists_retries_and_purges_dead_letters(
    app: FastAPI, amqp_url: str, admit: Any
) -> None:
    await dead_letter(amqp_url, b"one", b"two")
    async with client(app, admit(app, Role.ADMIN)) as api:
        listed = (await api.get("/dlq")).json()
        assert [q["queue"] for q in listed] == list(topology.WORK_QUEUES)
        [importer] = [q for q in listed if q["queue"] == QUEUE]
        assert (importer["dlq"], importer["count"]) == (DLQ, 2)
        assert {m["run_id"] for m in importer["messages"]} == {"run-0", "run-1"}
        assert {m["reason"] for m in importer["messages"]} == {"dead-lettered by RabbitMQ (rejected)"}
        assert all(0 <= m["age_seconds"] < 60 and m["size"] == 3 for m in importer["messages"])
        assert "body" not in importer["messages"][0]
        assert len((await api.get("/dlq", params={"limit": 1})).json()[1]["messages"]) == 1
        assert (await api.get("/dlq", params={"limit": 0})).status_code == 422

        retried = await api.post(f"/dlq/{DLQ}/retry")
        assert (retried.status_code, retried.json()) == (200, {"queue": QUEUE, "dlq": DLQ, "retried": 2})
        assert await in_work_queue(amqp_url) == 2

        await dead_letter(amqp_url, b"three")
        purged = await api.post(f"/dlq/{QUEUE}/purge")
        assert (purged.status_code, purged.json()) == (200, {"queue": QUEUE, "dlq": DLQ, "purged": 1})
        again = await api.get("/dlq")
        assert [q["count"] for q in again.json()] == [0, 0, 0, 0]

        unknown = await api.post("/dlq/importer/purge")
        assert unknown.status_code == 404
        assert unknown.json()["detail"].startswith("no dead-letter queue 'importer': give a work queue (")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
async def test_only_an_admin_may_see_or_touch_dead_letters(
    app: FastAPI, amqp_url: str, admit: Any, role: Role
) -> None:
    await dead_letter(amqp_url, b"kept")
    async with client(app, admit(app, role, token=f"rs_{role}-token")) as api:
        for method, path in (
            ("GET", "/dlq"),
            ("POST", f"/dlq/{QUEUE}/retry"),
            ("POST", f"/dlq/{QUEUE}/purge"),
        ):
            refused = await api.request(method, path)
            assert refused.status_code == 403, (method, path)
            assert refused.json()["detail"].endswith("this needs admin or above")
    async with client(app, admit(app, Role.ADMIN)) as api:
        [importer] = [q for q in (await api.get("/dlq")).json() if q["queue"] == QUEUE]
    assert importer["count"] == 1  # nothing was retried or purged


async def test_a_broker_that_does_not_answer_is_a_503_naming_it(admit: Any) -> None:
    with socket_closed() as port:
        settings = dataclasses.replace(Settings.from_env(), amqp_url=f"amqp://guest:guest@127.0.0.1:{port}/")
        app = create_app(settings)  # not started: nothing connects until a route asks
        async with client(app, admit(app, Role.ADMIN)) as api:
            answer = await api.get("/dlq")
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("the message broker is not reachable")


def socket_closed() -> Any:
    """A port nothing listens on, for as long as the block lasts."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def closed() -> Any:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
            yield s.getsockname()[1]

    return closed()
