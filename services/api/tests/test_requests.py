"""Requests the API refuses before asking any service (no broker needed: the lifespan is not run)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from recruit_sync.api.app import create_app
from recruit_sync.runtime.settings import Settings

SPEC = {"name": "IT grads", "connection": "acme", "list": "IT talent"}


@pytest.fixture
async def api(admit: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings.from_env())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=admit(app)) as client:
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


async def test_openapi_documents_dry_runs_and_previews_with_their_answers(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]

    def answer(method: str, path: str) -> Any:
        return paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    assert answer("get", "/runs/{run_id}/dry-run") == {"$ref": "#/components/schemas/DryRun"}
    assert answer("post", "/syncs/{sync_id}/preview") == {"$ref": "#/components/schemas/Preview"}
    assert answer("post", "/syncs/preview") == {"$ref": "#/components/schemas/Preview"}
    assert answer("get", "/runs/{run_id}/replay") == {"$ref": "#/components/schemas/Replay"}  # unchanged
    spec_body = paths["/syncs/preview"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert spec_body == paths["/syncs"]["post"]["requestBody"]["content"]["application/json"]["schema"]


async def test_a_refused_preview_spec_names_key_and_problem_without_asking_anyone(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post("/syncs/preview", json={**SPEC, "colour": "red"})
    assert (response.status_code, response.json()) == (422, {"detail": "colour: unknown key"})


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
    assert "sync.deactivated" not in document["channels"]
    rpc_queue = document["channels"]["recruit_sync.history.rpc"]["description"]
    assert rpc_queue.endswith(
        "op is one of runs.list, runs.get, runs.records, explain, runs.replay, runs.cancel"
    )
    assert (await api.get("/asyncapi")).headers["content-type"].startswith("text/html")


async def test_a_credit_budget_beyond_32_bits_is_refused_naming_the_key(api: httpx.AsyncClient) -> None:
    connection = {
        "name": "acme",
        "base_url": "http://127.0.0.1:8700",
        "accounts_url": "http://127.0.0.1:8700",
        "client_id": "cid",
        "client_secret": "secret",
        "refresh_token": "rt",
        "daily_credit_budget": 2**31,
    }
    refused = await api.post("/connections", json=connection)
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": "daily_credit_budget: Input should be less than or equal to 2147483647"
    }


async def test_a_blank_id_in_the_path_is_refused_naming_the_key(api: httpx.AsyncClient) -> None:
    refused = await api.get("/syncs/%20")
    assert (refused.status_code, refused.json()) == (
        422,
        {"detail": "id: String should have at least 1 character"},
    )


# a schema that says what the answer is (a bare ``{}`` or ``{"title": ...}`` is what FastAPI writes for
# a route without a response model)
_SHAPE_KEYS = {"$ref", "type", "anyOf", "oneOf", "allOf"}


async def test_openapi_names_the_answer_of_every_route(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    unnamed = [
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if not any(
            _SHAPE_KEYS & set(media.get("schema", {}))
            for status, response in operation["responses"].items()
            if status.startswith("2")
            for media in response.get("content", {}).values()
        )
    ]
    assert unnamed == []
    sync = document["paths"]["/syncs/{sync_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert {"runs", "last_run", "spec", "state"} <= set(_resolve(document, sync["schema"])["properties"])


async def test_no_answer_has_room_for_a_secret(api: httpx.AsyncClient) -> None:
    """Answers are their models: a key the model does not name cannot reach a client (SPEC section 7).
    The one exception is a new API token, shown once in the answer that creates it."""
    document = (await api.get("/openapi.json")).json()
    answers = [
        media["schema"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if (method, path) != ("post", "/tokens")
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for media in response.get("content", {}).values()
    ]
    keys = _property_names(document, answers)
    assert {"id", "client_id", "credits_spent"} <= keys  # the walk reaches the connection
    assert [key for key in keys if any(word in key for word in ("secret", "token", "password"))] == []


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _property_names(document: dict[str, Any], schemas: list[Any]) -> set[str]:
    """Every property name reachable from ``schemas`` (following ``$ref``s, each schema once)."""
    names: set[str] = set()
    seen: set[str] = set()
    pending = list(schemas)
    while pending:
        schema = pending.pop()
        if isinstance(schema, list):
            pending.extend(schema)
        elif isinstance(schema, dict):
            ref = schema.get("$ref")
            if isinstance(ref, str):
                if ref not in seen:
                    seen.add(ref)
                    pending.append(_resolve(document, schema))
                continue
            names.update(schema.get("properties", {}))
            pending.extend(schema.values())
    return names


async def test_without_credentials_a_route_answers_401_naming_what_to_send() -> None:
    transport = httpx.ASGITransport(app=create_app(Settings.from_env()))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        refused = await client.get("/openapi.json")
        assert refused.status_code == 401
        assert "RECRUIT_SYNC_TOKEN" in refused.json()["detail"]
        assert refused.headers["www-authenticate"] == "Bearer"
        malformed = await client.get("/syncs", headers={"Authorization": "Token abc"})
        assert malformed.status_code == 401
        assert malformed.json()["detail"] == "the Authorization header must be 'Bearer <token>'"


async def test_a_viewer_may_read_but_not_change(admit: Any) -> None:
    from recruit_sync.contracts.access import Role

    app = create_app(Settings.from_env())
    headers = admit(app, Role.VIEWER, token="rs_viewer-token")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as client:
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/auth/whoami")).json() == {
            "kind": "token",
            "name": "test-viewer",
            "role": "viewer",
        }
        refused = await client.post("/syncs", json=SPEC)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "test-viewer has the viewer role; this needs editor or above"
        # a preview writes nothing, but spends Recruit credits: an editor's, like a run
        for preview in (
            await client.post("/syncs/s1/preview"),
            await client.post("/syncs/preview", json=SPEC),
        ):
            assert (preview.status_code, preview.json()) == (403, refused.json())
