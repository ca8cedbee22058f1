"""Sync pages: the list, the new-sync wizard, a sync's detail, its edit page and its actions.

Each handler calls the scheduler's and history's typed operations as the JSON routes do; a form is
judged by the contracts' models and then by the scheduler, and a refusal is shown beside the field its
message names, in the words the CLI prints.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, get_args

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from recruit_sync.api.auth import PageEditor, PageViewer, Svc
from recruit_sync.api.console import forms, messages
from recruit_sync.api.console.charts import run_chart
from recruit_sync.api.console.paging import Page
from recruit_sync.api.console.render import NOTHING, AnyChoice, PageNumber, form_values, link, page, partly
from recruit_sync.api.gateway import Services
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import Principal
from recruit_sync.contracts.events import RunSummary
from recruit_sync.contracts.resources import (
    CreateSync,
    EditSync,
    Favourite,
    RunsOfSync,
    RunSync,
    SyncDetail,
    SyncRef,
    SyncState,
)
from recruit_sync.contracts.sync_spec import SyncSpec, SyncSpecPatch, describe_validation_error

router = APIRouter()

STATES = get_args(SyncState)


@router.get("/")
async def sync_list(
    request: Request,
    who: PageViewer,
    services: Svc,
    state: Annotated[SyncState | None, AnyChoice] = None,
    page_number: PageNumber = 1,
) -> HTMLResponse:
    """Every sync with its last run; the runs come from history, so a silent history only blanks them."""
    syncs = [s for s in await services.call(rpc.SYNC_LIST, NOTHING) if state is None or s.state == state]
    shown_page, shown = Page.asked(page_number).of(syncs)
    last_runs, runs_problem = await partly(_last_runs(services, shown), {})
    return page(
        request, "syncs.html", who,
        section="syncs", syncs=shown, states=STATES, state=state, last_runs=last_runs,
        runs_problem=runs_problem, page=shown_page, page_url=lambda n: link(request, page=n),
    )  # fmt: skip


async def _last_runs(services: Services, syncs: list[SyncDetail]) -> dict[str, RunSummary]:
    runs = await asyncio.gather(
        *(services.call(rpc.RUNS_LIST, RunsOfSync(sync_id=sync.id)) for sync in syncs)
    )
    return {sync.id: of_sync[0] for sync, of_sync in zip(syncs, runs, strict=True) if of_sync}


# --- the new-sync wizard -------------------------------------------------------------------------------


@router.get("/console/syncs/new")
async def new_sync(request: Request, who: PageEditor, services: Svc) -> HTMLResponse:
    return await _wizard(request, who, services, None)


@router.post("/console/syncs/new")
async def create_sync(request: Request, who: PageEditor, services: Svc) -> Response:
    """Create the sync the form describes, or show the form again: with a row added or removed when a
    row button was pressed, or with the refusal beside its field."""
    values = await form_values(request)
    changed = forms.change_rows(values, values.pop("action", "create"))
    if changed is not None:
        return await _wizard(request, who, services, changed)
    try:
        spec = SyncSpec.model_validate(forms.spec(values))
    except ValidationError as exc:
        return await _wizard(request, who, services, values, describe_validation_error(exc), 422)
    save_as = forms.text(values, "save_favourite")
    try:
        # saved before the sync is created, so the mapping is kept even when the sync is refused
        favourite = Favourite(name=save_as, mapping=spec.mapping) if save_as else None
    except ValidationError as exc:
        problem = f"save_favourite: {describe_validation_error(exc)}"
        return await _wizard(request, who, services, values, problem, 422)
    try:
        if favourite is not None:
            await services.call(rpc.FAVOURITE_SAVE, favourite)
        created = await services.call(rpc.SYNC_CREATE, CreateSync(spec=spec))
    except HTTPException as exc:
        return await _wizard(request, who, services, values, str(exc.detail), exc.status_code)
    return RedirectResponse(f"/console/syncs/{created.id}?notice=created", 303)


async def _wizard(
    request: Request,
    who: Principal,
    services: Services,
    values: dict[str, str] | None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The wizard showing ``values`` (None: a new sync, on the only connection if there is one)."""
    connections = await services.call(rpc.CONNECTION_LIST, NOTHING)
    favourites = await services.call(rpc.FAVOURITE_LIST, NOTHING)
    lists, _ = await partly(services.call(rpc.LIST_ALL, NOTHING), [])  # only suggestions
    if values is None:
        only = {"connection": connections[0].name} if len(connections) == 1 else {}
        values = {**forms.NEW_SYNC, **only}
    return page(
        request, "sync_new.html", who, status_code,
        section="syncs", values=values, errors=_placed(problem, values),
        connections=[(c.name, c.name) for c in connections], lists=[item.name for item in lists],
        favourites=[(f.name, f.name) for f in favourites],
    )  # fmt: skip


def _placed(problem: str | None, values: forms.Values) -> dict[str, list[str]]:
    return messages.place(problem, forms.field_names(values)) if problem else {}


# --- one sync ------------------------------------------------------------------------------------------


@router.get("/console/syncs/{sync_id}")
async def sync_detail(
    request: Request, sync_id: str, who: PageViewer, services: Svc, page_number: PageNumber = 1
) -> HTMLResponse:
    sync = await services.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    runs, runs_problem = await partly(services.call(rpc.RUNS_LIST, RunsOfSync(sync_id=sync.id)), [])
    runs_page, shown = Page.asked(page_number, 20).of(runs)
    return page(
        request, "sync_detail.html", who,
        section="syncs", sync=sync, runs=shown, runs_problem=runs_problem, chart=run_chart(runs),
        page=runs_page, page_url=lambda n: link(request, page=n),
    )  # fmt: skip


@router.post("/console/syncs/{sync_id}/run")
async def run_sync(
    sync_id: str, who: PageEditor, services: Svc, full: Annotated[bool, Form()] = False
) -> RedirectResponse:
    """Run now (``full``: re-import everything) and follow the run; a run already in progress is
    followed instead of starting a second."""
    started = await services.call(rpc.SYNC_RUN, RunSync(id=sync_id, full=full))
    notice = "run_started" if started.started else "run_in_progress"
    return RedirectResponse(f"/console/runs/{started.run_id}?notice={notice}", 303)


@router.post("/console/syncs/{sync_id}/pause")
async def pause_sync(sync_id: str, who: PageEditor, services: Svc) -> RedirectResponse:
    sync = await services.call(rpc.SYNC_PAUSE, SyncRef(id=sync_id))
    return RedirectResponse(f"/console/syncs/{sync.id}?notice=paused", 303)


@router.post("/console/syncs/{sync_id}/activate")
async def activate_sync(sync_id: str, who: PageEditor, services: Svc) -> RedirectResponse:
    sync = await services.call(rpc.SYNC_ACTIVATE, SyncRef(id=sync_id))
    return RedirectResponse(f"/console/syncs/{sync.id}?notice=activated", 303)


# --- editing: mapping, options, schedule, retrieval, each saved on its own -----------------------------


@router.get("/console/syncs/{sync_id}/edit")
async def edit_sync_page(request: Request, sync_id: str, who: PageEditor, services: Svc) -> HTMLResponse:
    sync = await services.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    return await _edit_page(request, who, services, sync)


@router.post("/console/syncs/{sync_id}/edit")
async def edit_sync(request: Request, sync_id: str, who: PageEditor, services: Svc) -> Response:
    """Save the one part (``part``) whose form was sent; the others are left as they are."""
    values = await form_values(request)
    part = values.pop("part", "")
    if part not in forms.EDITABLE_PARTS:
        raise HTTPException(400, f"part: choose one of {', '.join(forms.EDITABLE_PARTS)}")
    sync = await services.call(rpc.SYNC_GET, SyncRef(id=sync_id))
    changed = forms.change_rows(values, values.pop("action", "save"))
    if changed is not None:
        return await _edit_page(request, who, services, sync, part, changed)
    try:
        patch = SyncSpecPatch.model_validate(forms.patch(part, values, sync.timezone))
        await services.call(rpc.SYNC_EDIT, EditSync(id=sync.id, patch=patch))
    except ValidationError as exc:
        return await _edit_page(
            request, who, services, sync, part, values, describe_validation_error(exc), 422
        )
    except HTTPException as exc:
        return await _edit_page(request, who, services, sync, part, values, str(exc.detail), exc.status_code)
    return RedirectResponse(f"/console/syncs/{sync.id}?notice=saved", 303)


async def _edit_page(
    request: Request,
    who: Principal,
    services: Services,
    sync: SyncDetail,
    editing: str | None = None,
    values: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The four parts from the saved spec, except the one being edited, which shows what was sent."""
    saved = forms.spec_values(sync.spec)
    favourites = await services.call(rpc.FAVOURITE_LIST, NOTHING)
    shown = {
        part: values if part == editing and values is not None else saved for part in forms.EDITABLE_PARTS
    }
    return page(
        request, "sync_edit.html", who, status_code,
        section="syncs", sync=sync, forms=shown, editing=editing,
        errors=_placed(problem, values or {}), favourites=[(f.name, f.name) for f in favourites],
    )  # fmt: skip
