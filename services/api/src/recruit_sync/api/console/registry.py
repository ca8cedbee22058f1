"""Pages about addresses: explain one, the mailing lists and their members, the suppression registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from recruit_sync.api.auth import PageEditor, PageViewer, Svc
from recruit_sync.api.console.address_file import addresses_in_file
from recruit_sync.api.console.paging import Page
from recruit_sync.api.console.render import NOTHING, AnyChoice, PageNumber, link, page, partly
from recruit_sync.api.gateway import Services
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import Principal
from recruit_sync.contracts.resources import (
    EmailQuery,
    ListRef,
    Suppress,
    SuppressionReason,
    SuppressionsQuery,
    Unsuppress,
)
from recruit_sync.contracts.sync_spec import describe_validation_error

router = APIRouter()

REASONS = [(reason.value, reason.value.replace("_", " ")) for reason in SuppressionReason]
LARGEST_UPLOAD = 10 * 1024 * 1024  # a suppression file of ~200,000 addresses


@router.get("/console/explain")
async def explain(
    request: Request,
    who: PageViewer,
    services: Svc,
    email: Annotated[str, Query(max_length=320)] = "",
    page_number: PageNumber = 1,
) -> HTMLResponse:
    """Every outcome recorded for an address, newest first, with the names of the syncs."""
    email = email.strip()
    rows = await services.call(rpc.EXPLAIN, EmailQuery(email=email)) if email else []
    shown_page, shown = Page.asked(page_number).of(rows)
    syncs, _ = await partly(services.call(rpc.SYNC_LIST, NOTHING), [])  # ids stand in for the names
    return page(
        request, "explain.html", who,
        section="explain", email=email, rows=shown, sync_names={s.id: s.name for s in syncs},
        page=shown_page, page_url=lambda n: link(request, page=n),
    )  # fmt: skip


@router.get("/console/lists")
async def lists(
    request: Request, who: PageViewer, services: Svc, page_number: PageNumber = 1
) -> HTMLResponse:
    every_list = await services.call(rpc.LIST_ALL, NOTHING)
    shown_page, shown = Page.asked(page_number).of(every_list)
    return page(
        request, "lists.html", who,
        section="lists", lists=shown, page=shown_page, page_url=lambda n: link(request, page=n),
    )  # fmt: skip


@router.get("/console/lists/{name}")
async def list_members(
    request: Request, name: str, who: PageViewer, services: Svc, page_number: PageNumber = 1
) -> HTMLResponse:
    """The list's contacts with every mapped field: the columns are the fields any member has."""
    members = [member.model_dump() for member in await services.call(rpc.LIST_MEMBERS, ListRef(list=name))]
    shown_page, shown = Page.asked(page_number).of(members)
    columns = list(dict.fromkeys(key for member in shown for key in member))
    return page(
        request, "list_members.html", who,
        section="lists", name=name, members=shown, columns=columns, page=shown_page,
        page_url=lambda n: link(request, page=n),
    )  # fmt: skip


# --- suppressions --------------------------------------------------------------------------------------


@router.get("/console/suppressions")
async def suppressions(
    request: Request,
    who: PageViewer,
    services: Svc,
    reason: Annotated[SuppressionReason | None, AnyChoice] = None,
    page_number: PageNumber = 1,
) -> HTMLResponse:
    return await _suppressions_page(request, who, services, reason, page_number)


@router.post("/console/suppressions")
async def suppress(
    request: Request,
    who: PageEditor,
    services: Svc,
    reason: Annotated[SuppressionReason, Form()],
    emails: Annotated[str, Form(max_length=LARGEST_UPLOAD)],
) -> HTMLResponse:
    """Addresses typed one a line or separated by commas or spaces."""
    entries = emails.replace(",", " ").split()
    return await _suppress(request, who, services, reason, entries)


@router.post("/console/suppressions/import")
async def suppress_file(
    request: Request,
    who: PageEditor,
    services: Svc,
    reason: Annotated[SuppressionReason, Form()],
    file: UploadFile,
) -> HTMLResponse:
    """A CSV with an ``email`` column, or one address a line (as ``suppress import``)."""
    try:
        entries = addresses_in_file(await file.read(LARGEST_UPLOAD + 1), LARGEST_UPLOAD)
    except ValueError as exc:
        return await _suppressions_page(request, who, services, problem=f"{file.filename}: {exc}")
    return await _suppress(request, who, services, reason, entries)


@router.post("/console/suppressions/remove")
async def unsuppress(
    who: PageEditor, services: Svc, email: Annotated[str, Form(max_length=320)]
) -> RedirectResponse:
    await services.call(rpc.SUPPRESS_REMOVE, Unsuppress(emails=[email]))
    return RedirectResponse("/console/suppressions?notice=removed", 303)


async def _suppress(
    request: Request, who: Principal, services: Services, reason: SuppressionReason, entries: list[str]
) -> HTMLResponse:
    try:
        done = await services.call(rpc.SUPPRESS_ADD, Suppress(reason=reason, emails=entries))
    except ValidationError as exc:
        return await _suppressions_page(request, who, services, problem=describe_validation_error(exc))
    result = {"summary": f"{done.added} added as {reason.value.replace('_', ' ')}.", "invalid": done.invalid}
    return await _suppressions_page(request, who, services, result=result)


async def _suppressions_page(
    request: Request,
    who: Principal,
    services: Services,
    reason: SuppressionReason | None = None,
    page_number: int = 1,
    problem: str | None = None,
    result: Mapping[str, object] | None = None,
) -> HTMLResponse:
    """The registry; a refused addition or file is a 400 with its problem above the forms."""
    status_code = 400 if problem else 200
    rows, listing_problem = await partly(
        services.call(rpc.SUPPRESS_LIST, SuppressionsQuery(reason=reason)), []
    )
    shown_page, shown = Page.asked(page_number).of(rows)
    return page(
        request, "suppressions.html", who, status_code,
        section="suppressions", suppressions=shown, reason=reason and reason.value, reasons=REASONS,
        problem=problem or listing_problem, result=result, page=shown_page,
        page_url=lambda n: link(request, page=n),
    )  # fmt: skip
