"""Every endpoint: one or two RPC calls to the service that owns the data (see gateway.Services)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from faststream.specification.asyncapi import get_asyncapi_html

from recruit_sync.api.bodies import Favourite, NewConnection, Rekey, Suppress, SuppressionReason, Unsuppress
from recruit_sync.api.gateway import Services
from recruit_sync.contracts.events import Outcome
from recruit_sync.contracts.sync_spec import SyncSpec, SyncSpecPatch

router = APIRouter()

# Keys never returned for a connection, even if a service forgot to drop them (SPEC section 7).
_SECRET_WORDS = ("secret", "token", "password", "service_key")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(_services)]


def without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: without_secrets(v) for k, v in value.items() if not any(w in k.lower() for w in _SECRET_WORDS)
        }
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


# --- connections -------------------------------------------------------------------------------------


@router.post("/connections", status_code=201, tags=["connections"])
async def add_connection(body: NewConnection, services: Svc) -> Any:
    """Register a Recruit account; answers ``{"id"}``. Secrets are stored encrypted, never returned."""
    return without_secrets(await services.scheduler("connection.add", **body.model_dump(exclude_none=True)))


@router.get("/connections", tags=["connections"])
async def list_connections(services: Svc) -> Any:
    return without_secrets(await services.scheduler("connection.list"))


@router.post("/connections/{name}/rekey", tags=["connections"])
async def rekey_connection(name: str, body: Rekey, services: Svc) -> Any:
    """Change credentials or primary email; every sync of the connection becomes inactive."""
    changes = body.model_dump(exclude_none=True)
    return without_secrets(await services.scheduler("connection.rekey", name=name, **changes))


# --- syncs -------------------------------------------------------------------------------------------


@router.post("/syncs", status_code=201, tags=["syncs"])
async def create_sync(spec: SyncSpec, services: Svc) -> Any:
    """Create a sync from a spec (INTERFACE.md "Sync spec file"); answers ``{"id"}``."""
    return await services.scheduler(
        "sync.create", spec=spec.model_dump(mode="json", by_alias=True, exclude_unset=True)
    )


@router.get("/syncs", tags=["syncs"])
async def list_syncs(services: Svc) -> Any:
    return await services.scheduler("sync.list")


@router.get("/syncs/{sync_id}", tags=["syncs"])
async def get_sync(sync_id: str, services: Svc) -> Any:
    """The sync with its runs, newest first, and ``last_run`` (null before the first run)."""
    sync = await services.scheduler("sync.get", id=sync_id)
    runs = await services.history("runs.list", sync_id=sync_id)
    return {**sync, "runs": runs, "last_run": runs[0] if runs else None}


@router.patch("/syncs/{sync_id}", tags=["syncs"])
async def edit_sync(sync_id: str, patch: SyncSpecPatch, services: Svc) -> Any:
    """Change mapping, options, schedule, retrieval, selection, list or name (keys given only)."""
    return await services.scheduler(
        "sync.edit", id=sync_id, patch=patch.model_dump(mode="json", by_alias=True, exclude_unset=True)
    )


@router.post("/syncs/{sync_id}/activate", tags=["syncs"])
async def activate_sync(sync_id: str, services: Svc) -> Any:
    return await services.scheduler("sync.activate", id=sync_id)


@router.post("/syncs/{sync_id}/pause", tags=["syncs"])
async def pause_sync(sync_id: str, services: Svc) -> Any:
    return await services.scheduler("sync.pause", id=sync_id)


@router.post("/syncs/{sync_id}/runs", status_code=202, tags=["runs"])
async def run_sync(sync_id: str, services: Svc, full: bool = False) -> Any:
    """Start a run now (``full``: re-import all data). ``started`` is false when one is in progress,
    and ``run_id`` then names that run."""
    return await services.scheduler("sync.run", id=sync_id, full=full)


# --- history -----------------------------------------------------------------------------------------


@router.get("/syncs/{sync_id}/runs", tags=["runs"])
async def list_runs(sync_id: str, services: Svc) -> Any:
    return await services.history("runs.list", sync_id=sync_id)


@router.get("/runs/{run_id}", tags=["runs"])
async def get_run(run_id: str, services: Svc) -> Any:
    """The run summary of INTERFACE.md; 404 until history has heard of the run."""
    return await services.history("runs.get", run_id=run_id)


@router.get("/runs/{run_id}/records", tags=["runs"])
async def run_records(run_id: str, services: Svc, outcome: Outcome | None = None) -> Any:
    """Per-record outcomes of the run, optionally only one outcome."""
    if outcome is None:
        return await services.history("runs.records", run_id=run_id)
    return await services.history("runs.records", run_id=run_id, outcome=outcome.value)


@router.get("/explain/{email}", tags=["runs"])
async def explain(email: str, services: Svc) -> Any:
    """Every outcome recorded for the address, newest first."""
    return await services.history("explain", email=email)


# --- lists and suppressions --------------------------------------------------------------------------


@router.get("/lists", tags=["lists"])
async def all_lists(services: Svc) -> Any:
    return await services.importer("list.all")


@router.get("/lists/{name}/members", tags=["lists"])
async def list_members(name: str, services: Svc) -> Any:
    return await services.importer("list.members", list=name)


@router.post("/suppressions", tags=["suppressions"])
async def suppress(body: Suppress, services: Svc) -> Any:
    return await services.importer("suppress.add", reason=body.reason, emails=body.emails)


@router.delete("/suppressions", tags=["suppressions"])
async def unsuppress(body: Unsuppress, services: Svc) -> Any:
    return await services.importer("suppress.remove", emails=body.emails)


@router.post("/suppressions/remove", tags=["suppressions"])
async def unsuppress_by_post(body: Unsuppress, services: Svc) -> Any:
    """The same as ``DELETE /suppressions``, for clients that cannot send a body with DELETE."""
    return await services.importer("suppress.remove", emails=body.emails)


@router.get("/suppressions", tags=["suppressions"])
async def list_suppressions(services: Svc, reason: SuppressionReason | None = None) -> Any:
    return await services.importer("suppress.list", **({"reason": reason} if reason else {}))


# --- mapping favourites ------------------------------------------------------------------------------


@router.post("/mapping/favourites", tags=["mapping"])
async def save_favourite(body: Favourite, services: Svc) -> Any:
    mapping = [m.model_dump(by_alias=True) for m in body.mapping]
    return await services.scheduler("mapping.favourite.save", name=body.name, mapping=mapping)


@router.get("/mapping/favourites", tags=["mapping"])
async def list_favourites(services: Svc) -> Any:
    return await services.scheduler("mapping.favourite.list")


# --- documentation of the events ---------------------------------------------------------------------


@router.get("/asyncapi.json", tags=["docs"])
async def asyncapi_document(request: Request) -> Any:
    """AsyncAPI 3.0 document of every event on the bus and the RPC queues."""
    return request.app.state.events_document.to_jsonable()


@router.get("/asyncapi", tags=["docs"], response_class=HTMLResponse)
async def asyncapi_page(request: Request) -> str:
    return get_asyncapi_html(request.app.state.events_document, try_it_out_path=None)


# --- health ------------------------------------------------------------------------------------------


@router.get("/health", tags=["health"])
async def health(request: Request) -> dict[str, str]:
    """200 while the broker connection is up (the services themselves answer through it)."""
    if not request.app.state.services.client.connected:
        raise HTTPException(503, "the message broker is not connected")
    return {"status": "ok", "broker": "connected"}
