"""Every endpoint: one or two typed RPC calls to the service that owns the data (see gateway.Services).

Request bodies and answers are the models of ``contracts.resources`` (the return annotations are the
response models), so the OpenAPI document shows every shape, and an answer can carry nothing its model
does not name: a connection's secrets cannot leave the API (SPEC section 7).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import aiormq
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from faststream.specification.asyncapi import get_asyncapi_html

from recruit_sync.api.auth import Svc, Viewer, require
from recruit_sync.api.gateway import Services
from recruit_sync.api.views import SyncWithRuns
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import (
    NewToken,
    NewUser,
    Principal,
    Removed,
    Role,
    Token,
    TokenCreated,
    TokenRef,
    User,
    UserRef,
)
from recruit_sync.contracts.events import Outcome, RunSummary
from recruit_sync.contracts.resources import (
    Connection,
    Created,
    CreateSync,
    CredentialChanges,
    DeadLetterQueue,
    DeadLettersPurged,
    DeadLettersRetried,
    DryRun,
    DryRunRequest,
    EditSync,
    EmailQuery,
    ExplainRow,
    Favourite,
    FavouriteSaved,
    ListInfo,
    ListRef,
    Member,
    NewConnection,
    NoArguments,
    Preview,
    PreviewRequest,
    RecordRow,
    RecordsQuery,
    Rekey,
    Rekeyed,
    Replay,
    RunRef,
    RunsOfSync,
    RunStarted,
    RunSync,
    Suppress,
    Suppressed,
    Suppression,
    SuppressionReason,
    SuppressionsQuery,
    SyncDetail,
    SyncRef,
    Unsuppress,
    Unsuppressed,
)
from recruit_sync.contracts.sync_spec import AlertNotification, SyncSpec, SyncSpecPatch
from recruit_sync.runtime import dead_letters

router = APIRouter()

# Who may call what (INTERFACE.md "Access"): reads are for every role, changes for editors, connections
# (credentials) for admins; /health (and /health/live, /health/ready) for anyone.
VIEWER = Depends(require(Role.VIEWER))
EDITOR = Depends(require(Role.EDITOR))
ADMIN = Depends(require(Role.ADMIN))

NOTHING = NoArguments()


# --- connections -------------------------------------------------------------------------------------


@router.post("/connections", status_code=201, tags=["connections"], dependencies=[ADMIN])
async def add_connection(body: NewConnection, services: Svc) -> Created:
    """Register a Recruit account; answers ``{"id"}``. Secrets are stored encrypted, never returned."""
    return await services.call(rpc.CONNECTION_ADD, body)


@router.get("/connections", tags=["connections"], dependencies=[VIEWER])
async def list_connections(services: Svc) -> list[Connection]:
    return await services.call(rpc.CONNECTION_LIST, NOTHING)


@router.post("/connections/{name}/rekey", tags=["connections"], dependencies=[ADMIN])
async def rekey_connection(name: str, body: CredentialChanges, services: Svc) -> Rekeyed:
    """Change credentials or primary email; every sync of the connection becomes inactive."""
    rekey = Rekey.model_validate({**body.model_dump(exclude_unset=True), "name": name})
    return await services.call(rpc.CONNECTION_REKEY, rekey)


# --- syncs -------------------------------------------------------------------------------------------


@router.post("/syncs", status_code=201, tags=["syncs"], dependencies=[EDITOR])
async def create_sync(spec: SyncSpec, services: Svc) -> Created:
    """Create a sync from a spec (INTERFACE.md "Sync spec file"); answers ``{"id"}``."""
    return await services.call(rpc.SYNC_CREATE, CreateSync(spec=spec))


@router.get("/syncs", tags=["syncs"], dependencies=[VIEWER])
async def list_syncs(services: Svc) -> list[SyncDetail]:
    return await services.call(rpc.SYNC_LIST, NOTHING)


@router.get("/syncs/{sync_id}", tags=["syncs"], dependencies=[VIEWER])
async def get_sync(sync_id: str, services: Svc) -> SyncWithRuns:
    """The sync (by id or name) with its runs, newest first, and ``last_run`` (null before the first)."""
    sync = await services.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    runs = await services.call(rpc.RUNS_LIST, RunsOfSync(sync_id=sync.id))  # history knows ids only
    return SyncWithRuns.of(sync, runs)


@router.patch("/syncs/{sync_id}", tags=["syncs"], dependencies=[EDITOR])
async def edit_sync(sync_id: str, patch: SyncSpecPatch, services: Svc) -> SyncDetail:
    """Change mapping, options, schedule, retrieval, selection, list or name (keys given only)."""
    return await services.call(rpc.SYNC_EDIT, EditSync(id=sync_id, patch=patch))


@router.post("/syncs/{sync_id}/activate", tags=["syncs"], dependencies=[EDITOR])
async def activate_sync(sync_id: str, services: Svc) -> SyncDetail:
    return await services.call(rpc.SYNC_ACTIVATE, SyncRef(id=sync_id))


@router.post("/syncs/{sync_id}/pause", tags=["syncs"], dependencies=[EDITOR])
async def pause_sync(sync_id: str, services: Svc) -> SyncDetail:
    return await services.call(rpc.SYNC_PAUSE, SyncRef(id=sync_id))


@router.post("/syncs/preview", tags=["syncs"], dependencies=[EDITOR])
async def preview_spec(spec: SyncSpec, services: Svc) -> Preview:
    """What a first run of a sync with this spec (the body of ``POST /syncs``) would do now: its
    outcomes counted, a few records of each, and the Recruit calls and credits fetching cost. Nothing
    is created or written. An editor's: a preview spends Recruit credits."""
    return await _preview(services, PreviewRequest(spec=spec))


@router.post("/syncs/{sync_id}/preview", tags=["syncs"], dependencies=[EDITOR])
async def preview_sync(sync_id: str, services: Svc) -> Preview:
    """What a run of the sync (by id or name) would do now, writing nothing; see ``POST /syncs/preview``."""
    return await _preview(services, PreviewRequest(id=sync_id))


async def _preview(services: Services, request: PreviewRequest) -> Preview:
    """The scheduler plans the run (the ``SyncDue`` it would send), the fetcher fetches for it and has
    the importer decide each batch in a scratch store. The plan carries the connection's encrypted
    secrets: it goes from one service to the other and nowhere else (no answer, no log line)."""
    due = await services.call(rpc.SYNC_PREVIEW_PLAN, request)
    return await services.call(rpc.FETCH_PREVIEW, due)


@router.post("/syncs/{sync_id}/runs", status_code=202, tags=["runs"], dependencies=[EDITOR])
async def run_sync(sync_id: str, services: Svc, full: bool = False) -> RunStarted:
    """Start a run now (``full``: re-import all data). ``started`` is false when one is in progress,
    and ``run_id`` then names that run."""
    return await services.call(rpc.SYNC_RUN, RunSync(id=sync_id, full=full))


@router.get("/syncs/{sync_id}/alerts", tags=["syncs"], dependencies=[VIEWER])
async def list_alerts(sync_id: str, services: Svc) -> list[AlertNotification]:
    """The sync's latest alert notifications (by id or name), newest first: event, channel, target,
    status (pending, delivered, gave_up), delivery attempts and the last error. Never a secret."""
    return await services.call(rpc.ALERT_LIST, SyncRef(id=sync_id))


# --- history -----------------------------------------------------------------------------------------


@router.get("/syncs/{sync_id}/runs", tags=["runs"], dependencies=[VIEWER])
async def list_runs(sync_id: str, services: Svc) -> list[RunSummary]:
    return await services.call(rpc.RUNS_LIST, RunsOfSync(sync_id=sync_id))


@router.get("/runs/{run_id}", tags=["runs"], dependencies=[VIEWER])
async def get_run(run_id: str, services: Svc) -> RunSummary:
    """The run summary of INTERFACE.md; 404 until history has heard of the run."""
    return await services.call(rpc.RUNS_GET, RunRef(run_id=run_id))


@router.post("/runs/{run_id}/cancel", tags=["runs"], dependencies=[EDITOR])
async def cancel_run(run_id: str, services: Svc) -> RunSummary:
    """Stop a running run: it ends ``failed`` with error ``cancelled`` and its sync may run again
    (what its fetch or import still sends is ignored). 409 naming the state of a run that has ended,
    404 for a run history has not heard of."""
    return await services.call(rpc.RUNS_CANCEL, RunRef(run_id=run_id))


@router.get("/runs/{run_id}/records", tags=["runs"], dependencies=[VIEWER])
async def run_records(run_id: str, services: Svc, outcome: Outcome | None = None) -> list[RecordRow]:
    """Per-record outcomes of the run, optionally only one outcome."""
    return await services.call(rpc.RUNS_RECORDS, RecordsQuery(run_id=run_id, outcome=outcome))


@router.get("/runs/{run_id}/replay", tags=["runs"], dependencies=[VIEWER])
async def replay_run(run_id: str, services: Svc) -> Replay:
    """The run's events from the journal, in order, and whether their outcomes add up to what history
    recorded; 410 once the journal no longer holds them."""
    return await services.call(rpc.RUNS_REPLAY, RunRef(run_id=run_id))


@router.get("/runs/{run_id}/dry-run", tags=["runs"], dependencies=[VIEWER])
async def dry_run(run_id: str, services: Svc) -> DryRun:
    """The run's journaled batches decided again by today's code, against a scratch copy of the store
    as the run found it, beside what history recorded; an empty ``differences`` means the run
    reproduces. Nothing live is written, so a viewer may ask. 409 for a run without a start time, 410
    once the journal no longer holds its events."""
    run = await services.call(rpc.RUNS_GET, RunRef(run_id=run_id))
    if run.started_at is None:
        raise HTTPException(409, f"run {run_id} has no start time; it cannot be replayed")
    request = DryRunRequest(run_id=run.run_id, started_at=run.started_at, finished_at=run.finished_at)
    return await services.call(rpc.RUNS_DRY_RUN, request)


@router.get("/explain/{email}", tags=["runs"], dependencies=[VIEWER])
async def explain(email: str, services: Svc) -> list[ExplainRow]:
    """Every outcome recorded for the address, newest first."""
    return await services.call(rpc.EXPLAIN, EmailQuery(email=email))


# --- lists and suppressions --------------------------------------------------------------------------


@router.get("/lists", tags=["lists"], dependencies=[VIEWER])
async def all_lists(services: Svc) -> list[ListInfo]:
    return await services.call(rpc.LIST_ALL, NOTHING)


@router.get("/lists/{name}/members", tags=["lists"], dependencies=[VIEWER])
async def list_members(name: str, services: Svc) -> list[Member]:
    return await services.call(rpc.LIST_MEMBERS, ListRef(list=name))


@router.post("/suppressions", tags=["suppressions"], dependencies=[EDITOR])
async def suppress(body: Suppress, services: Svc) -> Suppressed:
    return await services.call(rpc.SUPPRESS_ADD, body)


@router.delete("/suppressions", tags=["suppressions"], dependencies=[EDITOR])
async def unsuppress(body: Unsuppress, services: Svc) -> Unsuppressed:
    return await services.call(rpc.SUPPRESS_REMOVE, body)


@router.post("/suppressions/remove", tags=["suppressions"], dependencies=[EDITOR])
async def unsuppress_by_post(body: Unsuppress, services: Svc) -> Unsuppressed:
    """The same as ``DELETE /suppressions``, for clients that cannot send a body with DELETE."""
    return await services.call(rpc.SUPPRESS_REMOVE, body)


@router.get("/suppressions", tags=["suppressions"], dependencies=[VIEWER])
async def list_suppressions(services: Svc, reason: SuppressionReason | None = None) -> list[Suppression]:
    return await services.call(rpc.SUPPRESS_LIST, SuppressionsQuery(reason=reason))


# --- mapping favourites ------------------------------------------------------------------------------


@router.post("/mapping/favourites", tags=["mapping"], dependencies=[EDITOR])
async def save_favourite(body: Favourite, services: Svc) -> FavouriteSaved:
    return await services.call(rpc.FAVOURITE_SAVE, body)


@router.get("/mapping/favourites", tags=["mapping"], dependencies=[VIEWER])
async def list_favourites(services: Svc) -> list[Favourite]:
    return await services.call(rpc.FAVOURITE_LIST, NOTHING)


# --- access: who am I, users and tokens (docs/adr/0018) -----------------------------------------------


@router.get("/auth/whoami", tags=["access"])
async def whoami(principal: Viewer) -> Principal:
    """Whom the request acts for: the token's name or the signed-in user, and the role."""
    return principal


@router.get("/users", tags=["access"], dependencies=[ADMIN])
async def list_users(services: Svc) -> list[User]:
    return await services.call(rpc.USER_LIST, NOTHING)


@router.post("/users", status_code=201, tags=["access"], dependencies=[ADMIN])
async def add_user(body: NewUser, services: Svc) -> User:
    return await services.call(rpc.USER_ADD, body)


@router.delete("/users/{email}", tags=["access"], dependencies=[ADMIN])
async def remove_user(email: str, services: Svc) -> Removed:
    return await services.call(rpc.USER_REMOVE, UserRef(email=email))


@router.get("/tokens", tags=["access"], dependencies=[ADMIN])
async def list_tokens(services: Svc) -> list[Token]:
    """The tokens, never the tokens themselves (only their hashes are kept)."""
    return await services.call(rpc.TOKEN_LIST, NOTHING)


@router.post("/tokens", status_code=201, tags=["access"], dependencies=[ADMIN])
async def create_token(body: NewToken, services: Svc) -> TokenCreated:
    """A new API token: the answer is the only time it is shown."""
    return await services.call(rpc.TOKEN_CREATE, body)


@router.delete("/tokens/{name}", tags=["access"], dependencies=[ADMIN])
async def revoke_token(name: str, services: Svc) -> Removed:
    return await services.call(rpc.TOKEN_REVOKE, TokenRef(name=name))


# --- dead letters (docs/adr/0002): broker administration, for admins ---------------------------------
# The API reads the broker itself (runtime.dead_letters) with the broker URL it already has: dead letters
# are no service's data, and a service asked over RPC would only relay the same broker calls.


@router.get("/dlq", tags=["dlq"], dependencies=[ADMIN])
async def list_dead_letters(services: Svc, limit: int = Query(100, ge=1, le=1000)) -> list[DeadLetterQueue]:
    """Each work queue's dead-letter queue: how many messages it holds, and the first ``limit`` with
    their run, event type, reason and age (never a body: batches hold addresses). Listing takes
    nothing away. Admins only: the retries and purges beside it change what the pipeline does."""
    return await _on_broker(dead_letters.list_dead_letters(services.client.amqp_url, limit))


@router.post("/dlq/{queue}/retry", tags=["dlq"], dependencies=[ADMIN])
async def retry_dead_letters(queue: str, services: Svc) -> DeadLettersRetried:
    """Put the dead-lettered messages of ``queue`` (a work queue or its ``.dlq``) back into the work
    queue, for its consumer alone; answers how many. 404 for any other name."""
    return await _on_broker(dead_letters.retry(services.client.amqp_url, queue))


@router.post("/dlq/{queue}/purge", tags=["dlq"], dependencies=[ADMIN])
async def purge_dead_letters(queue: str, services: Svc) -> DeadLettersPurged:
    """Drop the dead-lettered messages of ``queue`` (a work queue or its ``.dlq``); answers how many."""
    return await _on_broker(dead_letters.purge(services.client.amqp_url, queue))


T = TypeVar("T")


async def _on_broker(work: Coroutine[Any, Any, T]) -> T:
    """The answer of a dead-letter call, its failures as HTTP errors."""
    try:
        return await work
    except dead_letters.UnknownQueue as exc:
        raise HTTPException(404, str(exc)) from None
    except aiormq.exceptions.ChannelNotFoundEntity:
        raise HTTPException(503, "the dead-letter queues do not exist (run 'recruit-sync migrate')") from None
    except dead_letters.BROKER_ERRORS as exc:
        raise HTTPException(503, f"the message broker is not reachable: {exc}") from None


# --- documentation of the API and of the events ------------------------------------------------------


@router.get("/openapi.json", tags=["docs"], dependencies=[VIEWER])
async def openapi_document(request: Request) -> dict[str, Any]:
    document: dict[str, Any] = request.app.openapi()
    return document


@router.get("/docs", tags=["docs"], response_class=HTMLResponse, dependencies=[VIEWER])
async def openapi_page() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="recruit-sync API")


@router.get("/asyncapi.json", tags=["docs"], dependencies=[VIEWER])
async def asyncapi_document(request: Request) -> dict[str, Any]:
    """AsyncAPI 3.0 document of every event on the bus and the RPC queues."""
    document: dict[str, Any] = request.app.state.events_document.to_jsonable()
    return document


@router.get("/asyncapi", tags=["docs"], response_class=HTMLResponse, dependencies=[VIEWER])
async def asyncapi_page(request: Request) -> str:
    return get_asyncapi_html(request.app.state.events_document, try_it_out_path=None)


# --- health ------------------------------------------------------------------------------------------


@router.get("/health", tags=["health"])
@router.get("/health/ready", tags=["health"])
async def health(request: Request) -> dict[str, str]:
    """200 while a call to the services can be made (the broker connection and the reply consumer are
    up: the services themselves answer through it); otherwise 503 saying why in one line, for as long
    as the API's RPC client takes to reconnect by itself."""
    unavailable = request.app.state.services.client.unavailable
    if unavailable is not None:
        raise HTTPException(503, unavailable)
    return {"status": "ok", "broker": "connected"}


@router.get("/health/live", tags=["health"])
async def live() -> dict[str, str]:
    """200 while the process serves requests, broker or not: a supervisor restarts the API only when
    this fails (a restart would not bring the broker back; the API reconnects by itself)."""
    return {"status": "ok"}
