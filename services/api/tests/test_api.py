"""The API against a real RabbitMQ vhost, with tiny fake services answering canned RPC replies."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.api.app import create_app
from recruit_sync.contracts import topology
from recruit_sync.runtime.broker import make_broker, rpc_queue
from recruit_sync.runtime.rpc import Operation, RpcError, dispatch
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

SPEC = {"name": "IT grads", "connection": "acme", "list": "IT talent"}


@pytest.fixture
async def api(amqp_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(Settings.from_env(), amqp_url=amqp_url), rpc_timeout=0.5)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


@asynccontextmanager
async def services(amqp_url: str, answers: dict[str, dict[str, Operation]]) -> AsyncIterator[None]:
    """Fake services: one RPC subscriber per queue in ``answers``, dispatching to its operations."""
    broker = make_broker(amqp_url)

    def answer(queue: str, operations: dict[str, Operation]) -> None:
        @broker.subscriber(rpc_queue(queue))
        async def on_rpc(message: RabbitMessage) -> bytes:
            return await dispatch(operations, message.body)

    for queue, operations in answers.items():
        answer(queue, operations)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def recording(result: Any, calls: list[dict[str, Any]]) -> Operation:
    async def operation(args: dict[str, Any]) -> Any:
        calls.append(args)
        return result

    return operation


def failing(message: str, status: int) -> Operation:
    async def operation(args: dict[str, Any]) -> Any:
        raise RpcError(message, status)

    return operation


async def test_sync_detail_merges_runs_newest_first(api: httpx.AsyncClient, amqp_url: str) -> None:
    runs = [{"run_id": "r2", "state": "running"}, {"run_id": "r1", "state": "succeeded"}]
    calls: list[dict[str, Any]] = []
    answers = {
        topology.SCHEDULER_RPC: {"sync.get": recording({"id": "s1", "name": "IT grads"}, calls)},
        topology.HISTORY_RPC: {"runs.list": recording(runs, calls)},
    }
    async with services(amqp_url, answers):
        response = await api.get("/syncs/s1")
    assert response.status_code == 200
    assert response.json() == {"id": "s1", "name": "IT grads", "runs": runs, "last_run": runs[0]}
    assert calls == [{"id": "s1"}, {"sync_id": "s1"}]


async def test_sync_detail_before_any_run_has_no_last_run(api: httpx.AsyncClient, amqp_url: str) -> None:
    answers = {
        topology.SCHEDULER_RPC: {"sync.get": recording({"id": "s1"}, [])},
        topology.HISTORY_RPC: {"runs.list": recording([], [])},
    }
    async with services(amqp_url, answers):
        response = await api.get("/syncs/s1")
    assert response.json() == {"id": "s1", "runs": [], "last_run": None}


async def test_service_errors_pass_through_with_their_status(api: httpx.AsyncClient, amqp_url: str) -> None:
    ops = {
        "sync.activate": failing("no sync 's9'", 404),
        "sync.create": failing("a sync named 'IT grads' exists", 409),
        "sync.edit": failing("retrieval.after: older than 30 days", 400),
    }
    async with services(amqp_url, {topology.SCHEDULER_RPC: ops}):
        activated = await api.post("/syncs/s9/activate")
        created = await api.post("/syncs", json=SPEC)
        edited = await api.patch("/syncs/s1", json={"retrieval": {"kind": "all"}})
    assert (activated.status_code, activated.json()) == (404, {"detail": "no sync 's9'"})
    assert (created.status_code, created.json()) == (409, {"detail": "a sync named 'IT grads' exists"})
    assert (edited.status_code, edited.json()) == (400, {"detail": "retrieval.after: older than 30 days"})


async def test_a_silent_service_is_a_503_naming_it(api: httpx.AsyncClient, amqp_url: str) -> None:
    # the scheduler answers, history does not
    async with services(amqp_url, {topology.SCHEDULER_RPC: {"sync.get": recording({"id": "s1"}, [])}}):
        response = await api.get("/syncs/s1")
    assert response.status_code == 503
    assert response.json() == {"detail": "the history service is not answering"}


async def test_create_forwards_only_the_keys_given(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[dict[str, Any]] = []
    spec = {**SPEC, "mapping": [{"from": "Skill_Set", "to": "skills"}]}
    async with services(amqp_url, {topology.SCHEDULER_RPC: {"sync.create": recording({"id": "s1"}, calls)}}):
        response = await api.post("/syncs", json=spec)
    assert (response.status_code, response.json()) == (201, {"id": "s1"})
    assert calls == [{"spec": spec}]


async def test_run_passes_full_and_answers_accepted(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[dict[str, Any]] = []
    reply = {"run_id": "r1", "started": True}
    async with services(amqp_url, {topology.SCHEDULER_RPC: {"sync.run": recording(reply, calls)}}):
        response = await api.post("/syncs/s1/runs", params={"full": "true"})
    assert (response.status_code, response.json()) == (202, reply)
    assert calls == [{"id": "s1", "full": True}]


async def test_records_filter_is_forwarded(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[dict[str, Any]] = []
    async with services(amqp_url, {topology.HISTORY_RPC: {"runs.records": recording([], calls)}}):
        assert (await api.get("/runs/r1/records", params={"outcome": "ignored"})).status_code == 200
        assert (await api.get("/runs/r1/records")).status_code == 200
    assert calls == [{"run_id": "r1", "outcome": "ignored"}, {"run_id": "r1"}]


async def test_connections_never_carry_secrets(api: httpx.AsyncClient, amqp_url: str) -> None:
    leaky = [{"id": "c1", "name": "acme", "client_secret": "s", "refresh_token_enc": "x", "client_id": "cid"}]
    async with services(amqp_url, {topology.SCHEDULER_RPC: {"connection.list": recording(leaky, [])}}):
        response = await api.get("/connections")
    assert response.json() == [{"id": "c1", "name": "acme", "client_id": "cid"}]


async def test_suppressions_remove_by_delete_or_post(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[dict[str, Any]] = []
    ops = {"suppress.remove": recording({"removed": 1}, calls)}
    async with services(amqp_url, {topology.IMPORTER_RPC: ops}):
        deleted = await api.request("DELETE", "/suppressions", json={"emails": ["a@x.com"]})
        posted = await api.post("/suppressions/remove", json={"emails": ["b@x.com"]})
    assert deleted.json() == posted.json() == {"removed": 1}
    assert calls == [{"emails": ["a@x.com"]}, {"emails": ["b@x.com"]}]


async def test_health_answers_while_the_broker_is_connected(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert (response.status_code, response.json()["status"]) == (200, "ok")
