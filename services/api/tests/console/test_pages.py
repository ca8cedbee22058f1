"""The console's pages through the real API app and a real RabbitMQ vhost, with small fake services
answering the typed operations: who gets in, what each role sees, forms and their refusals, the records
of a run, and a silent service shown as a message."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest
from faststream.rabbit.annotations import RabbitMessage

from recruit_sync.api.app import create_app
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import NewToken, Principal, Removed, Role, TokenCreated, User, UserRef
from recruit_sync.contracts.events import Outcome, RunState, RunSummary, Trigger
from recruit_sync.contracts.resources import (
    Connection,
    Created,
    CreateSync,
    ExplainRow,
    NewConnection,
    RecordRow,
    RecordsQuery,
    Rekeyed,
    RunStarted,
    Suppress,
    Suppressed,
    Suppression,
    SuppressionReason,
    SyncDetail,
)
from recruit_sync.contracts.sync_spec import SyncSpec
from recruit_sync.runtime.broker import make_broker, rpc_queue
from recruit_sync.runtime.rpc import Operations, RpcError, Served, dispatch, operations, serve
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
RPC_TIMEOUT = 0.5
SILENT = object()
SPEC = SyncSpec.model_validate({"name": "IT grads", "connection": "acme", "list": "IT talent"})
SYNC = SyncDetail(
    id="s1", name="IT grads", state="active", state_reason=None, next_due_at=None, last_retrieval_at=None,
    last_retrieval_kind=None, settings_version=1, created_at=AT, connection="acme", spec=SPEC,
    mapping=SPEC.full_mapping(), timezone="UTC", options_enabled_at={}, run_in_flight=None,
)  # fmt: skip


def summary(state: RunState = RunState.SUCCEEDED, **counts: int) -> RunSummary:
    return RunSummary(
        run_id="r1",
        sync_id="s1",
        state=state,
        trigger=Trigger.MANUAL,
        started_at=AT,
        finished_at=None,
        **counts,
    )


@dataclasses.dataclass
class Fakes:
    """What the fake services answer (``answers``: operation name -> an answer, a function of the
    request, an ``RpcError`` or ``SILENT``), and every request they were asked, by operation name."""

    answers: dict[str, Any]
    calls: dict[str, list[Any]] = dataclasses.field(default_factory=lambda: defaultdict(list))

    def served(self) -> list[Served]:
        return [serve(op, partial(self._answer, op.name)) for op in rpc.OPERATIONS]

    async def _answer(self, name: str, request: Any) -> Any:
        self.calls[name].append(request)
        answer = self.answers.get(name)
        if answer is SILENT:
            await asyncio.sleep(RPC_TIMEOUT * 4)  # the API has given up by then
        if isinstance(answer, RpcError):
            raise answer
        if callable(answer):
            return answer(request)
        if answer is None:
            raise RpcError(f"the fake has no answer to {name}", 404)
        return answer


def users(request: Any) -> Principal:
    """AUTH_SIGN_IN / AUTH_USER: the role is the email's local part (viewer@..., admin@...)."""
    role = request.email.split("@")[0]
    if role not in Role.__members__.values() or getattr(request, "password", PASSWORD) != PASSWORD:
        raise RpcError("the email or password is wrong", 401)
    return Principal(kind="user", name=request.email, role=Role(role))


def default_answers() -> dict[str, Any]:
    return {
        rpc.AUTH_SIGN_IN.name: users,
        rpc.AUTH_USER.name: users,
        rpc.SYNC_LIST.name: [SYNC],
        rpc.SYNC_GET.name: SYNC,
        rpc.SYNC_PAUSE.name: SYNC,
        rpc.SYNC_RUN.name: RunStarted(run_id="r1", started=True),
        rpc.SYNC_CREATE.name: Created(id="s2"),
        rpc.RUNS_LIST.name: [summary(new=2, ignored=1, total=3)],
        rpc.RUNS_GET.name: summary(new=2, ignored=1, total=3),
        rpc.CONNECTION_LIST.name: [
            Connection(
                id="c1",
                name="acme",
                base_url="https://recruit.zoho.eu",
                accounts_url="https://accounts.zoho.eu",
                client_id="cid",
                primary_email=None,
                daily_credit_budget=None,
                credentials_version=1,
                created_at=AT,
                credits_spent=0,
            )
        ],
        rpc.FAVOURITE_LIST.name: [],
        rpc.LIST_ALL.name: [],
        rpc.SUPPRESS_LIST.name: [Suppression(email="gone@example.com", reason="bounced", created_at=AT)],
        rpc.USER_LIST.name: [User(email="admin@example.com", role=Role.ADMIN, created_at=AT)],
        rpc.TOKEN_LIST.name: [],
    }


@asynccontextmanager
async def fake_services(amqp_url: str, fakes: Fakes) -> AsyncIterator[None]:
    broker = make_broker(amqp_url, consumer="fake")
    by_queue: dict[str, list[Served]] = defaultdict(list)
    for item in fakes.served():
        by_queue[item.operation.queue].append(item)
    for queue, served in by_queue.items():
        broker.subscriber(rpc_queue(queue))(answering(operations(served)))
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def answering(table: Operations) -> Callable[[RabbitMessage], Awaitable[bytes]]:
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await dispatch(table, message.body)

    return on_rpc


@pytest.fixture
def fakes() -> Fakes:
    return Fakes(default_answers())


@pytest.fixture
async def browser(amqp_url: str, fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, like a browser, before anyone signed in."""
    app = create_app(dataclasses.replace(Settings.from_env(), amqp_url=amqp_url), rpc_timeout=RPC_TIMEOUT)
    async with app.router.lifespan_context(app), fake_services(amqp_url, fakes):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            yield client


async def signed_in(browser: httpx.AsyncClient, role: str) -> str:
    """Sign in as a user with ``role``; the session's CSRF token, as the pages carry it."""
    answer = await browser.post("/login", data=await sign_in_form(browser, f"{role}@example.com", PASSWORD))
    assert answer.status_code == 303, answer.text
    return csrf_of((await browser.get("/")).text)


async def sign_in_form(browser: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    """The sign-in form as a browser posts it, with the token the form page carries."""
    token = csrf_of((await browser.get("/login")).text)
    return {"email": email, "password": password, "csrf_token": token}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def field_html(html: str, name: str) -> str:
    """The markup of the form field named ``name``, with the problems shown beside it."""
    match = re.search(
        rf'<div class="field[^"]*">\s*<label for="f-{re.escape(name)}">.*?</div>', html, re.DOTALL
    )
    assert match, f"no field {name}"
    return match.group(0)


# --- getting in -----------------------------------------------------------------------------------------


async def test_a_page_without_a_session_sends_the_browser_to_sign_in(browser: httpx.AsyncClient) -> None:
    answer = await browser.get("/console/runs/r1?outcome=new")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fconsole%2Fruns%2Fr1%3Foutcome%3Dnew"
    htmx = {"HX-Request": "true", "HX-Current-URL": "http://console/console/runs/r1?outcome=new"}
    polled = await browser.get("/console/runs/r1/progress", headers=htmx)  # the session ended meanwhile
    assert polled.status_code == 401
    assert polled.headers["HX-Redirect"] == "/login?next=%2Fconsole%2Fruns%2Fr1%3Foutcome%3Dnew"
    assert (await browser.get("/syncs")).status_code == 401  # the JSON API still answers JSON
    assert (await browser.get("/syncs")).json()["detail"].startswith("no credentials")


async def test_the_sign_in_page_and_static_files_need_no_session(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/login?next=/console/lists")
    assert page.status_code == 200
    assert (
        '<label for="f-email">Email</label>' in page.text
        and '<label for="f-password">Password</label>' in page.text
    )
    assert 'name="next" value="/console/lists"' in page.text
    assert (await browser.get("/static/htmx.min.js")).status_code == 200
    assert (await browser.get("/static/console.css")).headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    ("next_page", "goes_to"),
    [("/console/lists?page=2", "/console/lists?page=2"), ("https://evil.example/", "/")],
)
async def test_signing_in_goes_on_to_a_path_on_this_site_only(
    browser: httpx.AsyncClient, next_page: str, goes_to: str
) -> None:
    form = await sign_in_form(browser, "viewer@example.com", PASSWORD)
    answer = await browser.post("/login", data={**form, "next": next_page})
    assert (answer.status_code, answer.headers["location"]) == (303, goes_to)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_a_wrong_password_shows_the_form_again_without_it(browser: httpx.AsyncClient) -> None:
    answer = await browser.post(
        "/login", data=await sign_in_form(browser, "admin@example.com", "guess-guess-guess")
    )
    assert answer.status_code == 401
    assert "the email or password is wrong" in answer.text
    assert 'value="admin@example.com"' in answer.text and "guess-guess-guess" not in answer.text
    assert (await browser.get("/")).status_code == 303  # still not signed in


async def test_a_sign_in_posted_without_the_forms_token_is_refused(browser: httpx.AsyncClient) -> None:
    """No other site can sign a browser in to an account of its choosing (login CSRF)."""
    await browser.get("/login")
    answer = await browser.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert answer.status_code == 403
    assert "CSRF token missing or wrong" in answer.text
    assert (await browser.get("/")).status_code == 303  # not signed in


async def test_signing_out_ends_the_session(browser: httpx.AsyncClient) -> None:
    csrf = await signed_in(browser, "viewer")
    answer = await browser.post("/logout", data={"csrf_token": csrf})
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert (await browser.get("/")).status_code == 303


# --- who may do what -------------------------------------------------------------------------------------


async def test_a_post_without_the_csrf_token_is_refused_before_any_service_is_asked(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    csrf = await signed_in(browser, "editor")
    refused = await browser.post("/console/syncs/s1/pause", data={})
    assert refused.status_code == 403
    assert "CSRF token missing or wrong" in refused.text and refused.headers["content-type"].startswith(
        "text/html"
    )
    forged = await browser.post("/console/syncs/s1/pause", data={"csrf_token": "not-the-one"})
    assert forged.status_code == 403
    assert fakes.calls[rpc.SYNC_PAUSE.name] == []
    done = await browser.post("/console/syncs/s1/pause", data={"csrf_token": csrf})
    assert (done.status_code, done.headers["location"]) == (303, "/console/syncs/s1?notice=paused")
    assert len(fakes.calls[rpc.SYNC_PAUSE.name]) == 1


async def test_a_viewer_sees_no_control_that_changes_anything_and_is_refused_a_change(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    csrf = await signed_in(browser, "viewer")
    for path in (
        "/",
        "/console/syncs/s1",
        "/console/runs/r1",
        "/console/suppressions",
        "/console/connections",
    ):
        page = await browser.get(path)
        assert page.status_code == 200, path
        forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.text)
        assert forms == ["/logout"], f"{path} offers a viewer {forms}"
    refused = await browser.post("/console/syncs/s1/run", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert "viewer@example.com has the viewer role; this needs editor or above" in refused.text
    assert fakes.calls[rpc.SYNC_RUN.name] == []


async def test_an_editor_sees_no_admin_page(browser: httpx.AsyncClient) -> None:
    await signed_in(browser, "editor")
    page = await browser.get("/")
    assert 'href="/console/syncs/new"' in page.text
    assert 'href="/console/users"' not in page.text and 'href="/console/tokens"' not in page.text
    assert (await browser.get("/console/users")).status_code == 403
    assert (await browser.get("/console/tokens")).status_code == 403
    admin_forms = re.findall(
        r'action="/console/connections[^"]*"', (await browser.get("/console/connections")).text
    )
    assert admin_forms == []


# --- the new-sync wizard ----------------------------------------------------------------------------------

WIZARD = {
    "connection": "acme",
    "module": "Candidates",
    "selection.kind": "criteria",
    "selection.conditions.0.field": "Department",
    "selection.conditions.0.operator": "equals",
    "selection.conditions.0.value": "IT",
    "selection.conditions.1.field": "Experience_in_Years",
    "selection.conditions.1.operator": "greater_equal",
    "selection.conditions.1.value": "2",
    "selection.pattern": "(1 or 2)",
    "list": "IT talent",
    "name": "IT grads",
    "options.on_recruit_delete": "keep",
    "schedule.kind": "daily",
    "schedule.at": "09:30",
    "schedule.timezone": "Asia/Kolkata",
    "retrieval.kind": "all",
}


async def test_the_wizard_creates_the_sync_its_form_describes(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    csrf = await signed_in(browser, "editor")
    answer = await browser.post("/console/syncs/new", data={**WIZARD, "csrf_token": csrf, "action": "create"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/syncs/s2?notice=created")
    [created] = fakes.calls[rpc.SYNC_CREATE.name]
    assert isinstance(created, CreateSync)
    assert created.spec.selection.model_dump() == {
        "kind": "criteria",
        "conditions": [
            {"field": "Department", "operator": "equals", "value": "IT"},
            {"field": "Experience_in_Years", "operator": "greater_equal", "value": "2"},
        ],
        "pattern": "(1 or 2)",
    }
    assert created.spec.schedule.at == "09:30" and created.spec.schedule.timezone == "Asia/Kolkata"


async def test_the_schedulers_refusal_is_shown_beside_the_field_it_names(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    problem = "selection.pattern: condition 2 is used twice (position 9)"
    fakes.answers[rpc.SYNC_CREATE.name] = RpcError(problem, 400)
    csrf = await signed_in(browser, "editor")
    answer = await browser.post("/console/syncs/new", data={**WIZARD, "csrf_token": csrf})
    assert answer.status_code == 400
    assert problem in field_html(answer.text, "selection.pattern")
    assert 'value="(1 or 2)"' in field_html(answer.text, "selection.pattern")  # what was typed stays
    assert problem not in field_html(answer.text, "name")


async def test_what_the_models_refuse_never_reaches_the_scheduler(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    csrf = await signed_in(browser, "editor")
    answer = await browser.post(
        "/console/syncs/new", data={**WIZARD, "schedule.at": "9am", "csrf_token": csrf}
    )
    assert answer.status_code == 422
    assert "schedule.at: Value error, " not in answer.text
    assert "schedule.at: &#39;9am&#39; is not a local time HH:MM" in field_html(answer.text, "schedule.at")
    assert fakes.calls[rpc.SYNC_CREATE.name] == []


async def test_row_buttons_add_and_remove_conditions_without_creating(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    csrf = await signed_in(browser, "editor")
    added = await browser.post(
        "/console/syncs/new", data={**WIZARD, "csrf_token": csrf, "action": "add:selection.conditions"}
    )
    assert added.status_code == 200 and "<legend>Condition 3</legend>" in added.text
    removed = await browser.post(
        "/console/syncs/new", data={**WIZARD, "csrf_token": csrf, "action": "remove:selection.conditions:0"}
    )
    assert "<legend>Condition 2</legend>" not in removed.text
    assert 'value="Experience_in_Years"' in field_html(removed.text, "selection.conditions.0.field")
    assert fakes.calls[rpc.SYNC_CREATE.name] == []


# --- runs --------------------------------------------------------------------------------------------------


def records(count: int) -> list[RecordRow]:
    return [
        RecordRow(record_id=str(n), email=f"p{n}@example.com", outcome=Outcome.NEW, reason=None)
        for n in range(count)
    ]


async def test_a_runs_records_come_a_page_at_a_time_with_the_filter(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.answers[rpc.RUNS_GET.name] = summary(new=120, total=120)
    fakes.answers[rpc.RUNS_RECORDS.name] = lambda query: records(120)[
        query.offset : query.offset + query.limit
    ]
    await signed_in(browser, "viewer")
    page = await browser.get("/console/runs/r1?outcome=new&page=2")
    assert page.status_code == 200
    assert fakes.calls[rpc.RUNS_RECORDS.name] == [
        RecordsQuery(run_id="r1", outcome=Outcome.NEW, limit=51, offset=50)
    ]
    assert "p50@example.com" in page.text and "p100@example.com" not in page.text
    assert "Page 2 of 3" in page.text
    assert 'href="/console/runs/r1?outcome=new&amp;page=3"' in page.text  # the filter is kept
    assert 'href="/console/runs/r1/records.csv?outcome=new"' in page.text


async def test_the_csv_export_answers_every_record_the_filters_select(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.answers[rpc.RUNS_RECORDS.name] = records(3)
    await signed_in(browser, "viewer")
    answer = await browser.get("/console/runs/r1/records.csv?outcome=new")
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="run-r1-records-new.csv"' in answer.headers["content-disposition"]
    assert answer.text.splitlines() == [
        "record_id,email,outcome,reason",
        "0,p0@example.com,new,",
        "1,p1@example.com,new,",
        "2,p2@example.com,new,",
    ]
    assert fakes.calls[rpc.RUNS_RECORDS.name] == [RecordsQuery(run_id="r1", outcome=Outcome.NEW)]


async def test_a_search_by_address_shows_its_records_of_this_run_only(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.answers[rpc.EXPLAIN.name] = [
        ExplainRow(
            run_id=run, sync_id="s1", record_id=record, outcome=Outcome.IGNORED, reason="bounced", at=AT
        )
        for run, record in (("r0", "1"), ("r1", "2"))
    ]
    await signed_in(browser, "viewer")
    page = await browser.get("/console/runs/r1?email=Pat@Example.com")
    rows = re.findall(r'<td data-label="Recruit id">(\w+)</td>', page.text)
    assert rows == ["2"]
    csv = await browser.get("/console/runs/r1/records.csv?email=Pat@Example.com")
    assert csv.text.splitlines()[1:] == ["2,Pat@Example.com,ignored,bounced"]


async def test_a_running_runs_progress_is_polled_until_it_ends_then_the_page_reloads(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    await signed_in(browser, "viewer")
    fakes.answers[rpc.RUNS_GET.name] = summary(RunState.RUNNING, new=5, total=5)
    running = await browser.get("/console/runs/r1/progress", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in running.text and "HX-Refresh" not in running.headers
    fakes.answers[rpc.RUNS_GET.name] = summary(RunState.SUCCEEDED, new=9, total=9)
    ended = await browser.get("/console/runs/r1/progress", headers={"HX-Request": "true"})
    assert "hx-trigger" not in ended.text and ended.headers["HX-Refresh"] == "true"


async def test_a_run_history_has_not_heard_of_is_a_page_that_keeps_asking(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.answers[rpc.RUNS_GET.name] = RpcError("no run 'r9'", 404)
    await signed_in(browser, "viewer")
    page = await browser.get("/console/runs/r9")
    assert page.status_code == 404
    assert 'hx-get="/console/runs/r9/progress"' in page.text


async def test_run_now_follows_the_run(browser: httpx.AsyncClient, fakes: Fakes) -> None:
    csrf = await signed_in(browser, "editor")
    answer = await browser.post("/console/syncs/s1/run", data={"csrf_token": csrf, "full": "true"})
    assert answer.headers["location"] == "/console/runs/r1?notice=run_started"
    assert fakes.calls[rpc.SYNC_RUN.name][0].full is True


async def test_a_silent_history_is_a_message_on_the_page_not_a_crash(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    await signed_in(browser, "viewer")
    fakes.answers[rpc.RUNS_LIST.name] = fakes.answers[rpc.RUNS_GET.name] = SILENT
    sync = await browser.get("/console/syncs/s1")
    assert sync.status_code == 200  # the scheduler answers: the sync is shown, its runs are not
    assert "the history service is not answering" in sync.text
    run = await browser.get("/console/runs/r1")
    assert run.status_code == 503 and run.headers["content-type"].startswith("text/html")
    assert "the history service is not answering" in run.text


# --- registry, connections, tokens ------------------------------------------------------------------------


async def test_a_suppression_file_is_imported_and_its_non_addresses_named(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.answers[rpc.SUPPRESS_ADD.name] = Suppressed(added=1, invalid=["not-an-address"])
    csrf = await signed_in(browser, "editor")
    upload = ("bounces.csv", b"Name,Email\nPat,pat@example.com\nX,not-an-address\n", "text/csv")
    answer = await browser.post(
        "/console/suppressions/import", data={"csrf_token": csrf, "reason": "bounced"}, files={"file": upload}
    )
    assert answer.status_code == 200
    assert fakes.calls[rpc.SUPPRESS_ADD.name] == [
        Suppress(reason=SuppressionReason.BOUNCED, emails=["pat@example.com", "not-an-address"])
    ]
    assert "1 added as bounced." in answer.text and "not-an-address" in answer.text


async def test_a_refused_connection_form_comes_back_without_its_secrets(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.answers[rpc.CONNECTION_ADD.name] = RpcError("name: a connection named 'acme' already exists", 409)
    csrf = await signed_in(browser, "admin")
    form = {
        "name": "acme", "base_url": "https://recruit.zoho.eu", "accounts_url": "https://accounts.zoho.eu",
        "client_id": "cid-1", "client_secret": "s3cr3t-value", "refresh_token": "rt-value-123",
    }  # fmt: skip
    answer = await browser.post("/console/connections", data={**form, "csrf_token": csrf})
    assert answer.status_code == 409
    assert "a connection named &#39;acme&#39; already exists" in field_html(answer.text, "name")
    assert 'value="cid-1"' in answer.text
    assert "s3cr3t-value" not in answer.text and "rt-value-123" not in answer.text
    [sent] = fakes.calls[rpc.CONNECTION_ADD.name]
    assert isinstance(sent, NewConnection) and sent.client_secret == "s3cr3t-value"


async def test_a_new_token_is_shown_once_and_never_cached(browser: httpx.AsyncClient, fakes: Fakes) -> None:
    token = "rs_" + "t" * 40
    created: Callable[[NewToken], TokenCreated] = lambda asked: TokenCreated(  # noqa: E731
        name=asked.name, role=asked.role, token=token
    )
    fakes.answers[rpc.TOKEN_CREATE.name] = created
    csrf = await signed_in(browser, "admin")
    answer = await browser.post(
        "/console/tokens", data={"csrf_token": csrf, "name": "nightly", "role": "viewer"}
    )
    assert token in answer.text and answer.headers["cache-control"] == "no-store"
    assert token not in (await browser.get("/console/tokens")).text


async def test_a_refused_token_name_is_shown_beside_its_field(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    csrf = await signed_in(browser, "admin")
    answer = await browser.post(
        "/console/tokens", data={"csrf_token": csrf, "name": "no spaces", "role": "viewer"}
    )
    assert answer.status_code == 422
    assert "name: String should match pattern" in field_html(answer.text, "name")
    assert fakes.calls[rpc.TOKEN_CREATE.name] == []


async def test_a_filters_any_choice_is_no_filter(browser: httpx.AsyncClient, fakes: Fakes) -> None:
    fakes.answers[rpc.RUNS_RECORDS.name] = records(1)
    await signed_in(browser, "viewer")
    for path in ("/?state=", "/console/runs/r1?outcome=&email=", "/console/suppressions?reason="):
        assert (await browser.get(path)).status_code == 200, path
    assert fakes.calls[rpc.RUNS_RECORDS.name][0].outcome is None
    assert (await browser.get("/?state=asleep")).status_code == 422


async def test_each_part_of_the_edit_page_saves_only_itself(browser: httpx.AsyncClient, fakes: Fakes) -> None:
    fakes.answers[rpc.SYNC_EDIT.name] = SYNC
    csrf = await signed_in(browser, "editor")
    page = await browser.get("/console/syncs/s1/edit")
    assert page.status_code == 200
    assert re.findall(r'name="part" value="(\w+)"', page.text) == [
        "mapping",
        "options",
        "schedule",
        "retrieval",
    ]
    schedule = {
        "part": "schedule",
        "schedule.kind": "weekly",
        "schedule.weekday": "friday",
        "schedule.at": "07:15",
    }
    refused = await browser.post(
        "/console/syncs/s1/edit", data={**schedule, "schedule.at": "7", "csrf_token": csrf}
    )
    assert refused.status_code == 422
    assert "schedule.at: &#39;7&#39; is not a local time HH:MM" in field_html(refused.text, "schedule.at")
    saved = await browser.post("/console/syncs/s1/edit", data={**schedule, "csrf_token": csrf})
    assert (saved.status_code, saved.headers["location"]) == (303, "/console/syncs/s1?notice=saved")
    [edit] = fakes.calls[rpc.SYNC_EDIT.name]
    assert edit.patch.model_dump(exclude_unset=True) == {
        "schedule": {"kind": "weekly", "weekday": "friday", "at": "07:15", "timezone": "UTC"}
    }


async def test_new_credentials_name_the_syncs_that_became_inactive(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.answers[rpc.CONNECTION_REKEY.name] = Rekeyed(id="c1", deactivated=["IT grads"])
    csrf = await signed_in(browser, "admin")
    form = {"name": "acme", "refresh_token": "new-rt-value", "client_id": "", "csrf_token": csrf}
    answer = await browser.post("/console/connections/rekey", data=form)
    assert answer.status_code == 200
    assert "These syncs became inactive and must be activated again by hand: IT grads." in answer.text
    assert "new-rt-value" not in answer.text
    [rekey] = fakes.calls[rpc.CONNECTION_REKEY.name]
    assert rekey.model_dump(exclude_unset=True) == {"name": "acme", "refresh_token": "new-rt-value"}


async def test_a_user_with_a_short_password_is_refused_and_the_password_not_shown_again(
    browser: httpx.AsyncClient, fakes: Fakes
) -> None:
    csrf = await signed_in(browser, "admin")
    form = {"email": "new@example.com", "role": "editor", "password": "short-one", "csrf_token": csrf}
    answer = await browser.post("/console/users", data=form)
    assert answer.status_code == 422
    assert "password: String should have at least 12 characters" in field_html(answer.text, "password")
    assert "short-one" not in answer.text and 'value="new@example.com"' in answer.text
    assert fakes.calls[rpc.USER_ADD.name] == []
    fakes.answers[rpc.USER_REMOVE.name] = Removed(removed=True)
    removed = await browser.post(
        "/console/users/remove", data={"email": "old@example.com", "csrf_token": csrf}
    )
    assert removed.headers["location"] == "/console/users?notice=removed"
    assert fakes.calls[rpc.USER_REMOVE.name] == [UserRef(email="old@example.com")]
