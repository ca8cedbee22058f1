"""``POST /runs/{run_id}/cancel`` against a real RabbitMQ vhost, with a fake history answering
``runs.cancel``: editors may cancel, viewers may not, and history's refusals pass through."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.rabbit.annotations import RabbitMessage
from pydantic_core import to_jsonable_python

from recruit_sync.api.app import create_app
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import Role
from recruit_sync.contracts.events import RunState, RunSummary, Trigger
from recruit_sync.contracts.resources import RunRef
from recruit_sync.runtime.broker import make_broker, rpc_queue
from recruit_sync.runtime.rpc import RpcError, dispatch, operations, serve
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
CANCELLED = RunSummary(
    run_id="r1",
    sync_id="s1",
    state=RunState.FAILED,
    trigger=Trigger.MANUAL,
    started_at=AT,
    finished_at=AT,
    error="cancelled",
)


@pytest.fixture
async def app(amqp_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(dataclasses.replace(Settings.from_env(), amqp_url=amqp_url), rpc_timeout=5)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers)


@asynccontextmanager
async def history(amqp_url: str, calls: list[RunRef]) -> AsyncIterator[None]:
    """A fake history: cancels r1, knows r2 as succeeded, knows no other run."""

    async def cancel(request: RunRef) -> RunSummary:
        calls.append(request)
        if request.run_id == "r1":
            return CANCELLED
        if request.run_id == "r2":
            raise RpcError("run r2 has already succeeded", 409)
        raise RpcError(f"no run {request.run_id!r}", 404)

    table = operations([serve(rpc.RUNS_CANCEL, cancel)])
    broker = make_broker(amqp_url, consumer="fake-history")

    @broker.subscriber(rpc_queue(rpc.RUNS_CANCEL.queue))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await dispatch(table, message.body)

    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def test_an_editor_cancels_a_run_and_gets_its_summary(app: FastAPI, amqp_url: str, admit: Any) -> None:
    calls: list[RunRef] = []
    async with history(amqp_url, calls), client(app, admit(app, Role.EDITOR)) as editor:
        response = await editor.post("/runs/r1/cancel")
    assert (response.status_code, response.json()) == (200, to_jsonable_python(CANCELLED))
    assert calls == [RunRef(run_id="r1")]


async def test_refusals_pass_through_naming_the_state(app: FastAPI, amqp_url: str, admit: Any) -> None:
    calls: list[RunRef] = []
    async with history(amqp_url, calls), client(app, admit(app, Role.EDITOR)) as editor:
        ended = await editor.post("/runs/r2/cancel")
        unknown = await editor.post("/runs/r9/cancel")
    assert (ended.status_code, ended.json()) == (409, {"detail": "run r2 has already succeeded"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "no run 'r9'"})


async def test_a_viewer_may_not_cancel(app: FastAPI, amqp_url: str, admit: Any) -> None:
    calls: list[RunRef] = []
    async with history(amqp_url, calls), client(app, admit(app, Role.VIEWER, token="rs_viewer")) as viewer:
        response = await viewer.post("/runs/r1/cancel")
    assert response.status_code == 403
    assert calls == []
