"""Nobody without credentials gets in, and each role does only what it may (INTERFACE.md "Access").

Walks the OpenAPI document of the running API: every route without credentials answers 401 (a console
page sends the browser to the sign-in form instead), every changing route refuses a viewer's token with
403, the admin-only routes refuse an editor's; then schemathesis fuzzes every operation with an admin
token and no answer may be a server error.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PUBLIC = {("GET", "/health"), ("GET", "/health/live"), ("GET", "/health/ready")}
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
ADMIN_ONLY = re.compile(r"^/(connections|users|tokens|dlq)")


def api(stack: Stack) -> str:
    return str(stack.env["RECRUIT_SYNC_API"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tokens(stack: Stack) -> dict[str, str]:
    made = {"admin": stack.token}
    for role in ("viewer", "editor"):
        made[role] = stack.json(
            "token", "create", "--name", f"{role}-{uuid.uuid4().hex[:6]}", "--role", role
        )["token"]
    return made


@pytest.fixture(scope="module")
def document(stack: Stack) -> dict[str, Any]:
    response = httpx.get(f"{api(stack)}/openapi.json", headers=bearer(stack.token), timeout=30)
    response.raise_for_status()
    doc: dict[str, Any] = response.json()
    return doc


def operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, path with every parameter filled in) of every documented operation."""
    found = []
    for path, methods in document["paths"].items():
        for method in methods:
            if method.upper() in {"GET", *CHANGING}:
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return found


def test_the_document_lists_the_routes_and_how_to_authenticate(document: dict[str, Any]) -> None:
    assert len(operations(document)) >= 30
    assert any(s.get("type") == "http" for s in document["components"]["securitySchemes"].values())


def test_no_route_answers_without_credentials(stack: Stack, document: dict[str, Any]) -> None:
    refused = []
    with httpx.Client(base_url=api(stack), timeout=30, follow_redirects=False) as client:
        for method, path in operations(document):
            if (method, path) in PUBLIC:
                continue
            response = client.request(method, path, json={} if method in CHANGING else None)
            signs_in = response.status_code == 303 and response.headers["location"].startswith("/login")
            if response.status_code != 401 and not signs_in:
                refused.append((method, path, response.status_code))
            if response.status_code == 401:
                assert "RECRUIT_SYNC_TOKEN" in response.json()["detail"], (method, path)
        assert client.get("/health").status_code == 200
    assert refused == []


def test_no_page_of_the_console_answers_without_a_session(stack: Stack) -> None:
    """Every route the app has, documented or not (the console's pages are not in the OpenAPI document)."""
    from starlette.routing import Route

    from recruit_sync.api.app import create_app
    from recruit_sync.runtime.settings import Settings

    def every_route(routes: list[Any]) -> list[Route]:  # routers are nested (include_router, no prefixes)
        found = []
        for route in routes:
            if isinstance(route, Route):
                found.append(route)
            elif hasattr(route, "original_router"):
                found += every_route(route.original_router.routes)
        return found

    public = {"/health", "/health/live", "/health/ready", "/login"}
    routes = [
        (method, re.sub(r"\{[^}]+\}", "x", route.path))
        for route in every_route(create_app(Settings.from_env()).routes)
        if route.path not in public
        for method in sorted(route.methods or ()) if method != "HEAD"
    ]  # fmt: skip
    assert len(routes) > 60
    let_in = []
    with httpx.Client(base_url=api(stack), timeout=30, follow_redirects=False) as client:
        for method, path in routes:
            response = client.request(method, path)
            signs_in = response.status_code == 303 and response.headers["location"].startswith("/login")
            if response.status_code != 401 and not signs_in:
                let_in.append((method, path, response.status_code))
        assert client.get("/login").status_code == 200
        assert client.get("/static/console.css").status_code == 200
    assert let_in == []


def test_a_wrong_token_is_refused_and_named(stack: Stack) -> None:
    for header in ({"Authorization": "Bearer rs_not-a-token"}, {"Authorization": "Basic abc"}):
        response = httpx.get(f"{api(stack)}/syncs", headers=header, timeout=30)
        assert response.status_code == 401
        assert "token" in response.json()["detail"].lower() or "Bearer" in response.json()["detail"]


def test_a_viewer_reads_but_changes_nothing(
    stack: Stack, tokens: dict[str, str], document: dict[str, Any]
) -> None:
    wrong = []
    with httpx.Client(base_url=api(stack), headers=bearer(tokens["viewer"]), timeout=30) as client:
        for method, path in operations(document):
            if (method, path) in PUBLIC:
                continue
            response = client.request(method, path, json={} if method in CHANGING else None)
            admin_only_read = method == "GET" and re.match(r"^/(users|tokens|dlq)", path)
            if method in CHANGING or admin_only_read:
                if response.status_code != 403:
                    wrong.append((method, path, response.status_code))
            elif response.status_code in (401, 403):
                wrong.append((method, path, response.status_code))
    assert wrong == []


def test_an_editor_may_not_touch_connections_users_or_tokens(
    stack: Stack, tokens: dict[str, str], document: dict[str, Any]
) -> None:
    wrong = []
    with httpx.Client(base_url=api(stack), headers=bearer(tokens["editor"]), timeout=30) as client:
        for method, path in operations(document):
            admin_only = ADMIN_ONLY.match(path) and (
                method in CHANGING or not path.startswith("/connections")
            )
            if not admin_only:
                continue
            response = client.request(method, path, json={} if method in CHANGING else None)
            if response.status_code != 403:
                wrong.append((method, path, response.status_code))
        assert client.get("/auth/whoami").json()["role"] == "editor"
    assert wrong == []


def test_a_revoked_token_stops_working_within_seconds(stack: Stack) -> None:
    name = f"short-lived-{uuid.uuid4().hex[:6]}"
    token = stack.json("token", "create", "--name", name, "--role", "viewer")["token"]
    assert httpx.get(f"{api(stack)}/syncs", headers=bearer(token), timeout=30).status_code == 200
    stack.run("token", "revoke", name)
    deadline = time.monotonic() + 15  # the API remembers a verdict for 10 s
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = httpx.get(f"{api(stack)}/syncs", headers=bearer(token), timeout=30).status_code
        time.sleep(0.5)
    assert status == 401
    listed = stack.json("token", "list")
    assert name not in {t["name"] for t in listed}
    assert all("token" not in t for t in listed)  # a list never shows a token


def test_no_password_or_token_reaches_a_log_or_an_answer(stack: Stack, tokens: dict[str, str]) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    email = f"signs-in-{uuid.uuid4().hex[:6]}@example.com"
    stack.add_user(email, "viewer", password)
    with httpx.Client(base_url=api(stack), timeout=30, follow_redirects=False) as browser:
        for attempt in (f"{password}-wrong", password):
            form = browser.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf is not None
            answer = browser.post(
                "/login", data={"email": email, "password": attempt, "csrf_token": csrf.group(1)}
            )
            assert password not in answer.text
        assert answer.status_code == 303  # the right password signed in
        assert email in browser.get("/").text
    users = httpx.get(f"{api(stack)}/users", headers=bearer(stack.token), timeout=30).text
    assert email in users and password not in users and "argon2" not in users
    logs = stack.logs()
    for secret in (password, *tokens.values()):
        assert secret not in logs


def test_fuzzing_every_operation_finds_no_server_error(stack: Stack) -> None:
    """schemathesis generates requests for every operation from its schemas, valid and not, sent with an
    admin token. Runs last in this module: it may create and remove users, tokens, syncs, connections."""
    fuzzer = stack.json("token", "create", "--name", f"fuzz-{uuid.uuid4().hex[:6]}", "--role", "admin")[
        "token"
    ]
    schema = schemathesis.openapi.from_url(f"{api(stack)}/openapi.json", headers=bearer(fuzzer))
    server_errors: list[tuple[str, str, int, str]] = []
    statuses: list[int] = []
    operations_fuzzed = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations_fuzzed += 1

        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(operation.as_strategy())
        def send(case: Any) -> None:
            response = case.call(base_url=api(stack), headers=bearer(fuzzer), timeout=30)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                server_errors.append(
                    (case.method, case.formatted_path, response.status_code, response.text[:200])
                )

        send()
    assert operations_fuzzed >= 30 and len(statuses) >= 5 * operations_fuzzed
    assert {200, 422} <= set(statuses)  # valid requests served, invalid ones refused
    assert server_errors == []
