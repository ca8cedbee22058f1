"""The connections page: everyone reads the list; admins add connections and change credentials.

Secrets travel only inward: the forms' password fields are never filled in again, not even when a
refused form is shown once more, and no answer the page is built from carries them.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from recruit_sync.api.auth import PageAdmin, PageViewer, Svc
from recruit_sync.api.console.render import NOTHING, form_values, page, refused
from recruit_sync.api.gateway import Services
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import Principal
from recruit_sync.contracts.resources import NewConnection, Rekey

router = APIRouter()

SECRETS = frozenset({"client_secret", "refresh_token"})


@router.get("/console/connections")
async def connections(request: Request, who: PageViewer, services: Svc) -> HTMLResponse:
    return await _connections_page(request, who, services)


@router.post("/console/connections")
async def add_connection(request: Request, who: PageAdmin, services: Svc) -> Response:
    values = _given(await form_values(request))
    try:
        await services.call(rpc.CONNECTION_ADD, NewConnection.model_validate(values))
    except (ValidationError, HTTPException) as exc:
        return await _connections_page(request, who, services, "add", values, exc)
    return RedirectResponse("/console/connections?notice=connection_added", 303)


@router.post("/console/connections/rekey")
async def rekey_connection(request: Request, who: PageAdmin, services: Svc) -> HTMLResponse:
    """New credentials or primary email; the page then names the syncs that became inactive."""
    values = _given(await form_values(request))
    try:
        rekeyed = await services.call(rpc.CONNECTION_REKEY, Rekey.model_validate(values))
    except (ValidationError, HTTPException) as exc:
        return await _connections_page(request, who, services, "rekey", values, exc)
    return await _connections_page(request, who, services, deactivated=rekeyed.deactivated)


def _given(values: dict[str, str]) -> dict[str, str]:
    """The fields filled in: an empty optional field means "not given", as an absent CLI option."""
    return {key: value.strip() for key, value in values.items() if value.strip()}


async def _connections_page(
    request: Request,
    who: Principal,
    services: Services,
    editing: str | None = None,
    values: dict[str, str] | None = None,
    refusal: ValidationError | HTTPException | None = None,
    deactivated: list[str] | None = None,
) -> HTMLResponse:
    """The list and, for admins, the two forms; a refused one shows what was typed, secrets left out,
    with its problems beside the fields."""
    shown = {key: value for key, value in (values or {}).items() if key not in SECRETS}
    errors, status_code = refused(refusal, NewConnection.model_fields)
    return page(
        request, "connections.html", who, status_code,
        section="connections", connections=await services.call(rpc.CONNECTION_LIST, NOTHING),
        editing=editing, errors=errors, add_values=shown if editing == "add" else {},
        rekey_values=shown if editing == "rekey" else {}, deactivated=deactivated,
    )  # fmt: skip
