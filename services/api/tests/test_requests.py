"""Requests the API refuses before asking any service (no broker needed: the lifespan is not run)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from recruit_sync.api.app import create_app
from recruit_sync.runtime.settings import Settings

SPEC = {"name": "IT grads", "connection": "acme", "list": "IT talent"}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(Settings.from_env()))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


async def test_a_refused_spec_names_key_and_problem_without_asking_anyone(api: httpx.AsyncClient) -> None:
    spec = {
        **SPEC,
        "selection": {"kind": "criteria", "conditions": [{"field": "X", "operator": "like", "value": 1}]},
        "colour": "red",
    }
    response = await api.post("/syncs", json=spec)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("selection.conditions.0.operator: 'like' is not an operator; use one of equals")
    assert detail.endswith("; colour: unknown key")


async def test_a_body_that_is_not_json_says_so(api: httpx.AsyncClient) -> None:
    response = await api.post("/syncs", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("the request body is not valid JSON")


async def test_openapi_documents_the_endpoints(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert {"/syncs", "/syncs/{sync_id}/runs", "/runs/{run_id}/records", "/suppressions"} <= set(paths)


async def test_a_bad_records_filter_is_refused(api: httpx.AsyncClient) -> None:
    refused = await api.get("/runs/r1/records", params={"outcome": "lost"})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("outcome: Input should be 'new'")


async def test_rekey_must_change_something(api: httpx.AsyncClient) -> None:
    refused = await api.post("/connections/acme/rekey", json={})
    assert refused.status_code == 422
    assert "give at least one of refresh_token" in refused.json()["detail"]


async def test_asyncapi_documents_every_event_and_rpc_queue(api: httpx.AsyncClient) -> None:
    document = (await api.get("/asyncapi.json")).json()
    assert {"sync.due", "record.batch", "run.completed", "recruit_sync.scheduler.rpc"} <= set(
        document["channels"]
    )
    assert "guest" not in str(document["servers"])  # no credentials
    assert (await api.get("/asyncapi")).headers["content-type"].startswith("text/html")
