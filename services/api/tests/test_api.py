"""The API against a real RabbitMQ vhost, with tiny fake services answering typed RPC operations."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aio_pika
import httpx
import orjson
import pytest
from fastapi import FastAPI
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from pydantic_core import to_jsonable_python

from recruit_sync.api.app import create_app
from recruit_sync.contracts import rpc, topology
from recruit_sync.contracts.access import Role
from recruit_sync.contracts.events import (
    ConnectionSnapshot,
    IgnoreReason,
    ImportSettings,
    Outcome,
    RunCounts,
    RunState,
    RunSummary,
    SyncDue,
    Trigger,
)
from recruit_sync.contracts.resources import (
    Connection,
    Created,
    CreateSync,
    DryRun,
    DryRunRequest,
    ListRef,
    Member,
    OutcomeDifference,
    Preview,
    PreviewRequest,
    RecordsQuery,
    Rekey,
    Rekeyed,
    RunRef,
    RunsOfSync,
    RunStarted,
    RunSync,
    Sample,
    SyncDetail,
    SyncRef,
    Unsuppress,
    Unsuppressed,
)
from recruit_sync.contracts.rpc import Operation, Req, Res, RpcReply
from recruit_sync.contracts.sync_spec import Options, SelectAll, SyncSpec
from recruit_sync.runtime.broker import make_broker, rpc_queue
from recruit_sync.runtime.rpc import RpcError, Served, dispatch, operations, serve
from recruit_sync.runtime.settings import Settings

pytestmark = pytest.mark.integration

SPEC = {"name": "IT grads", "connection": "acme", "list": "IT talent"}
AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def detail(sync_id: str = "s1") -> SyncDetail:
    spec = SyncSpec.model_validate(SPEC)
    return SyncDetail(
        id=sync_id,
        name=spec.name,
        state="active",
        state_reason=None,
        next_due_at=None,
        last_retrieval_at=None,
        last_retrieval_kind=None,
        settings_version=1,
        created_at=AT,
        connection=spec.connection,
        spec=spec,
        mapping=spec.full_mapping(),
        timezone="UTC",
        options_enabled_at={},
        run_in_flight=None,
    )


def run(run_id: str, state: RunState) -> RunSummary:
    return RunSummary(
        run_id=run_id, sync_id="s1", state=state, trigger=Trigger.MANUAL, started_at=AT, finished_at=None
    )


RPC_TIMEOUT = 0.5  # the API's usual wait for a service, short so that a silent one fails the test fast


@pytest.fixture
async def app(amqp_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(dataclasses.replace(Settings.from_env(), amqp_url=amqp_url), rpc_timeout=RPC_TIMEOUT)
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers)


@pytest.fixture
async def api(app: FastAPI, admit: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app, admit(app)) as api:
        yield api


@pytest.fixture
async def viewer(app: FastAPI, admit: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client acting with the viewer role (reads only)."""
    async with client(app, admit(app, Role.VIEWER, token="rs_viewer-token")) as viewer:
        yield viewer


Replier = Callable[[bytes], Awaitable[bytes]]


@asynccontextmanager
async def answering(amqp_url: str, repliers: dict[str, Replier]) -> AsyncIterator[None]:
    """Fake services: one RPC subscriber per queue in ``repliers``, answering each request body."""
    broker = make_broker(amqp_url, consumer="fake")
    for queue, replier in repliers.items():
        _subscribe(broker, queue, replier)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def _subscribe(broker: RabbitBroker, queue: str, replier: Replier) -> None:
    @broker.subscriber(rpc_queue(queue))
    async def on_rpc(message: RabbitMessage) -> bytes:
        return await replier(message.body)


def services(amqp_url: str, *served: Served) -> Any:
    """Fake services answering ``served`` operations, each on its operation's queue."""
    by_queue: dict[str, list[Served]] = defaultdict(list)
    for item in served:
        by_queue[item.operation.queue].append(item)
    return answering(
        amqp_url, {queue: partial(dispatch, operations(items)) for queue, items in by_queue.items()}
    )


def recording(operation: Operation[Req, Res], answer: Res, calls: list[Any], delay: float = 0.0) -> Served:
    """Answers ``answer`` (after ``delay`` seconds) and keeps each request in ``calls``."""

    async def handler(request: Req) -> Res:
        calls.append(request)
        await asyncio.sleep(delay)
        return answer

    return serve(operation, handler)


def failing(operation: Operation[Req, Res], message: str, status: int) -> Served:
    async def handler(request: Req) -> Res:
        raise RpcError(message, status)

    return serve(operation, handler)


def as_json(value: Any) -> Any:
    return to_jsonable_python(value, by_alias=True)


async def test_sync_detail_by_name_lists_the_runs_of_its_id(api: httpx.AsyncClient, amqp_url: str) -> None:
    runs = [run("r2", RunState.RUNNING), run("r1", RunState.SUCCEEDED)]
    calls: list[Any] = []
    async with services(
        amqp_url, recording(rpc.SYNC_GET, detail("s1"), calls), recording(rpc.RUNS_LIST, runs, calls)
    ):
        response = await api.get("/syncs/IT grads")
    assert response.status_code == 200
    assert response.json() == {**as_json(detail("s1")), "runs": as_json(runs), "last_run": as_json(runs[0])}
    assert calls == [SyncRef(id="IT grads"), RunsOfSync(sync_id="s1")]  # history is asked by id


async def test_sync_detail_before_any_run_has_no_last_run(api: httpx.AsyncClient, amqp_url: str) -> None:
    async with services(amqp_url, recording(rpc.SYNC_GET, detail(), []), recording(rpc.RUNS_LIST, [], [])):
        response = await api.get("/syncs/s1")
    assert (response.json()["runs"], response.json()["last_run"]) == ([], None)


async def test_service_refusals_pass_through_with_their_status(api: httpx.AsyncClient, amqp_url: str) -> None:
    async with services(
        amqp_url,
        failing(rpc.SYNC_ACTIVATE, "no sync 's9'", 404),
        failing(rpc.SYNC_CREATE, "a sync named 'IT grads' exists", 409),
        failing(rpc.SYNC_EDIT, "retrieval.after: older than 30 days", 400),
    ):
        activated = await api.post("/syncs/s9/activate")
        created = await api.post("/syncs", json=SPEC)
        edited = await api.patch("/syncs/s1", json={"retrieval": {"kind": "all"}})
    assert (activated.status_code, activated.json()) == (404, {"detail": "no sync 's9'"})
    assert (created.status_code, created.json()) == (409, {"detail": "a sync named 'IT grads' exists"})
    assert (edited.status_code, edited.json()) == (400, {"detail": "retrieval.after: older than 30 days"})


async def test_a_silent_service_is_a_503_naming_it(api: httpx.AsyncClient, amqp_url: str) -> None:
    async with services(amqp_url, recording(rpc.SYNC_GET, detail(), [])):  # history does not answer
        response = await api.get("/syncs/s1")
    assert response.status_code == 503
    assert response.json() == {"detail": "the history service is not answering"}


async def test_a_missing_queue_is_a_503_saying_to_migrate(api: httpx.AsyncClient, amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await (await connection.channel()).queue_delete(topology.IMPORTER_RPC)
    response = await api.get("/lists")
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "the importer service's queue does not exist (run 'recruit-sync migrate')"
    )


async def test_create_forwards_only_the_keys_given(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[CreateSync] = []
    spec = {**SPEC, "mapping": [{"from": "Skill_Set", "to": "skills"}]}
    async with services(amqp_url, recording(rpc.SYNC_CREATE, Created(id="s1"), calls)):
        response = await api.post("/syncs", json=spec)
    assert (response.status_code, response.json()) == (201, {"id": "s1"})
    assert [c.spec.model_dump(mode="json", by_alias=True, exclude_unset=True) for c in calls] == [spec]


async def test_rekey_sends_the_name_from_the_path_with_the_changes(
    api: httpx.AsyncClient, amqp_url: str
) -> None:
    calls: list[Rekey] = []
    answer = Rekeyed(id="c1", deactivated=["s1"])
    async with services(amqp_url, recording(rpc.CONNECTION_REKEY, answer, calls)):
        response = await api.post("/connections/acme/rekey", json={"refresh_token": "rt2"})
    assert (response.status_code, response.json()) == (200, {"id": "c1", "deactivated": ["s1"]})
    assert calls == [Rekey(name="acme", refresh_token="rt2")]
    assert calls[0].model_fields_set == {"name", "refresh_token"}


async def test_run_passes_full_and_answers_accepted(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[RunSync] = []
    reply = RunStarted(run_id="r1", started=True)
    async with services(amqp_url, recording(rpc.SYNC_RUN, reply, calls)):
        response = await api.post("/syncs/s1/runs", params={"full": "true"})
    assert (response.status_code, response.json()) == (202, {"run_id": "r1", "started": True})
    assert calls == [RunSync(id="s1", full=True)]


async def test_records_filter_is_forwarded(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[RecordsQuery] = []
    async with services(amqp_url, recording(rpc.RUNS_RECORDS, [], calls)):
        assert (await api.get("/runs/r1/records", params={"outcome": "ignored"})).status_code == 200
        assert (await api.get("/runs/r1/records")).status_code == 200
    assert calls == [RecordsQuery(run_id="r1", outcome=Outcome.IGNORED), RecordsQuery(run_id="r1")]


async def test_connections_pass_through_without_secrets(api: httpx.AsyncClient, amqp_url: str) -> None:
    connection = Connection(
        id="c1",
        name="acme",
        base_url="http://127.0.0.1:8700",
        accounts_url="http://127.0.0.1:8700",
        client_id="cid",
        primary_email=None,
        daily_credit_budget=None,
        credentials_version=1,
        created_at=AT,
        credits_spent=0,
    )
    async with services(amqp_url, recording(rpc.CONNECTION_LIST, [connection], [])):
        response = await api.get("/connections")
    assert (response.status_code, response.json()) == (200, [as_json(connection)])
    assert response.json()[0]["created_at"] == "2026-11-02T10:00:00+00:00"


async def test_a_secret_in_a_services_answer_never_reaches_the_client(
    api: httpx.AsyncClient, amqp_url: str
) -> None:
    leaky = [{"id": "c1", "name": "acme", "client_secret": "s3cr3t", "refresh_token_enc": "x9x9x9"}]

    async def leak(_: bytes) -> bytes:
        return orjson.dumps(RpcReply.success(leaky).model_dump(mode="json"))

    async with answering(amqp_url, {topology.SCHEDULER_RPC: leak}):
        response = await api.get("/connections")
    assert response.status_code == 502
    assert response.json()["detail"].startswith(
        "the scheduler service's answer to connection.list does not fit the contract: "
    )
    assert "0.client_secret: unknown key" in response.json()["detail"]
    assert "s3cr3t" not in response.text and "x9x9x9" not in response.text


async def test_list_members_keep_their_mapped_fields(api: httpx.AsyncClient, amqp_url: str) -> None:
    member = {"email": "a@x.com", "first_name": "A", "last_name": None, "skills": ["go", "sql"], "city": "X"}
    calls: list[ListRef] = []
    async with services(amqp_url, recording(rpc.LIST_MEMBERS, [Member.model_validate(member)], calls)):
        response = await api.get("/lists/IT talent/members")
    assert (response.status_code, response.json()) == (200, [member])
    assert calls == [ListRef(list="IT talent")]


async def test_suppressions_remove_by_delete_or_post(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[Unsuppress] = []
    async with services(amqp_url, recording(rpc.SUPPRESS_REMOVE, Unsuppressed(removed=1, invalid=[]), calls)):
        deleted = await api.request("DELETE", "/suppressions", json={"emails": ["a@x.com"]})
        posted = await api.post("/suppressions/remove", json={"emails": ["b@x.com"]})
    assert deleted.json() == posted.json() == {"removed": 1, "invalid": []}
    assert calls == [Unsuppress(emails=["a@x.com"]), Unsuppress(emails=["b@x.com"])]


async def test_health_answers_while_the_broker_is_connected(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


# --- dry runs and previews ----------------------------------------------------------------------------

FINISHED = datetime(2026, 11, 2, 10, 0, 4, tzinfo=UTC)
COUNTS = RunCounts(total=2, new=1, ignored=1, ignored_by_reason={IgnoreReason.ROLE_ADDRESS: 1})
DRY_RUN = DryRun(
    run_id="r1",
    recorded=RunCounts(total=2, new=2),
    replayed=COUNTS,
    differences=[
        OutcomeDifference(
            record_id="100042",
            email="info@example.com",
            recorded=Outcome.NEW,
            replayed=Outcome.IGNORED,
            recorded_reason=None,
            replayed_reason=IgnoreReason.ROLE_ADDRESS,
        )
    ],
    differences_total=1,
    batches=1,
)
# what the scheduler's plan carries and no answer may: the connection's secrets, encrypted
ENCRYPTED_SECRET, ENCRYPTED_REFRESH_TOKEN = "gAAAAA-client-secret-enc", "gAAAAA-refresh-token-enc"
PLAN = SyncDue(
    run_id="preview-1",
    sync_id="s1",
    sync_name="IT grads",
    trigger=Trigger.MANUAL,
    due_at=AT,
    module="Candidates",
    selection=SelectAll(),
    connection=ConnectionSnapshot(
        connection_id="c1",
        name="acme",
        base_url="http://127.0.0.1:8700",
        accounts_url="http://127.0.0.1:8700",
        client_id="cid",
        client_secret_enc=ENCRYPTED_SECRET,
        refresh_token_enc=ENCRYPTED_REFRESH_TOKEN,
    ),
    settings=ImportSettings(list_name="IT talent", options=Options(), mapping=[], settings_version=1),
)
PREVIEW = Preview(
    summary=COUNTS,
    samples={
        Outcome.NEW: [Sample(record_id="100001", email="jane@example.com")],
        Outcome.IGNORED: [
            Sample(record_id="100042", email="info@example.com", reason=IgnoreReason.ROLE_ADDRESS)
        ],
    },
    api_calls=2,
    credits=6,
)


def finished_run(run_id: str = "r1") -> RunSummary:
    return run(run_id, RunState.SUCCEEDED).model_copy(update={"finished_at": FINISHED})


async def test_a_viewer_may_dry_run_a_run_with_the_times_history_recorded(
    viewer: httpx.AsyncClient, amqp_url: str
) -> None:
    calls: list[Any] = []
    async with services(
        amqp_url, recording(rpc.RUNS_GET, finished_run(), calls), recording(rpc.RUNS_DRY_RUN, DRY_RUN, calls)
    ):
        response = await viewer.get("/runs/r1/dry-run")
    assert (response.status_code, response.json()) == (200, as_json(DRY_RUN))
    assert calls == [RunRef(run_id="r1"), DryRunRequest(run_id="r1", started_at=AT, finished_at=FINISHED)]


async def test_a_run_without_a_start_time_cannot_be_dry_run(api: httpx.AsyncClient, amqp_url: str) -> None:
    calls: list[Any] = []
    never_started = run("r1", RunState.FAILED).model_copy(update={"started_at": None})
    async with services(
        amqp_url,
        recording(rpc.RUNS_GET, never_started, calls),
        recording(rpc.RUNS_DRY_RUN, DRY_RUN, calls),
    ):
        response = await api.get("/runs/r1/dry-run")
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "run r1 has no start time; it cannot be replayed"},
    )
    assert calls == [RunRef(run_id="r1")]  # the importer is not asked


async def test_dry_run_refusals_pass_through_with_their_status(api: httpx.AsyncClient, amqp_url: str) -> None:
    gone = "run r1 has left the journal (it keeps events for 7 days, up to 2 GiB)"
    dry_runs: list[DryRunRequest] = []
    async with services(
        amqp_url, failing(rpc.RUNS_GET, "no run 'r9'", 404), recording(rpc.RUNS_DRY_RUN, DRY_RUN, dry_runs)
    ):
        unknown = await api.get("/runs/r9/dry-run")
    async with services(
        amqp_url, recording(rpc.RUNS_GET, finished_run(), []), failing(rpc.RUNS_DRY_RUN, gone, 410)
    ):
        left = await api.get("/runs/r1/dry-run")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "no run 'r9'"})
    assert dry_runs == []
    assert (left.status_code, left.json()) == (410, {"detail": gone})


async def test_long_operations_wait_longer_than_the_usual_timeout(
    api: httpx.AsyncClient, amqp_url: str
) -> None:
    slower = 2 * RPC_TIMEOUT
    async with services(amqp_url, recording(rpc.RUNS_GET, finished_run(), [], delay=slower)):
        usual = await api.get("/runs/r1/dry-run")
    async with services(
        amqp_url,
        recording(rpc.RUNS_GET, finished_run(), []),
        recording(rpc.RUNS_DRY_RUN, DRY_RUN, [], delay=slower),
    ):
        dry_run = await api.get("/runs/r1/dry-run")
    async with services(
        amqp_url,
        recording(rpc.SYNC_PREVIEW_PLAN, PLAN, []),
        recording(rpc.FETCH_PREVIEW, PREVIEW, [], delay=slower),
    ):
        preview = await api.post("/syncs/s1/preview")
    assert (usual.status_code, usual.json()) == (503, {"detail": "the history service is not answering"})
    assert (dry_run.status_code, preview.status_code) == (200, 200)


async def test_a_preview_is_planned_by_the_scheduler_and_fetched_by_the_fetcher(
    api: httpx.AsyncClient,
    amqp_url: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    plans: list[PreviewRequest] = []
    fetches: list[SyncDue] = []
    async with services(
        amqp_url,
        recording(rpc.SYNC_PREVIEW_PLAN, PLAN, plans),
        recording(rpc.FETCH_PREVIEW, PREVIEW, fetches),
    ):
        by_name = await api.post("/syncs/IT grads/preview")
        by_spec = await api.post("/syncs/preview", json=SPEC)
    for response in (by_name, by_spec):
        assert (response.status_code, response.json()) == (200, as_json(PREVIEW))
    assert plans[0] == PreviewRequest(id="IT grads")
    assert plans[1].id is None and plans[1].spec is not None
    assert plans[1].spec.model_dump(mode="json", by_alias=True, exclude_unset=True) == SPEC
    assert fetches == [PLAN, PLAN]  # the plan goes to the fetcher as the scheduler made it ...
    seen = by_name.text + by_spec.text + "".join(capsys.readouterr()) + caplog.text
    assert ENCRYPTED_SECRET not in seen and ENCRYPTED_REFRESH_TOKEN not in seen  # ... and nowhere else


async def test_preview_refusals_pass_through_with_their_status(api: httpx.AsyncClient, amqp_url: str) -> None:
    fetches: list[SyncDue] = []
    unauthorised = "acme: Recruit refused the credentials (401 INVALID_TOKEN)"
    async with services(
        amqp_url,
        failing(rpc.SYNC_PREVIEW_PLAN, "no connection named 'acme'", 404),
        recording(rpc.FETCH_PREVIEW, PREVIEW, fetches),
    ):
        unplanned = await api.post("/syncs/preview", json=SPEC)
    async with services(
        amqp_url, recording(rpc.SYNC_PREVIEW_PLAN, PLAN, []), failing(rpc.FETCH_PREVIEW, unauthorised, 502)
    ):
        unfetched = await api.post("/syncs/s1/preview")
    assert (unplanned.status_code, unplanned.json()) == (404, {"detail": "no connection named 'acme'"})
    assert fetches == []
    assert (unfetched.status_code, unfetched.json()) == (502, {"detail": unauthorised})
