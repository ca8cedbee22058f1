"""Pages from templates: one Jinja2 environment, and what every page is given (who is signed in, the
session's CSRF token, what their role may do)."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args
from urllib.parse import urlencode
from zoneinfo import available_timezones

from fastapi import HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BeforeValidator, ValidationError

from recruit_sync.api.auth import csrf_token
from recruit_sync.api.console import charts, describe
from recruit_sync.api.console.forms import row_numbers
from recruit_sync.api.console.messages import Problems, place
from recruit_sync.contracts.access import Principal, Role
from recruit_sync.contracts.events import Outcome
from recruit_sync.contracts.resources import NoArguments
from recruit_sync.contracts.sync_spec import STANDARD_MODULES, Operator, Weekday, describe_validation_error

HERE = Path(__file__).parent
STATIC = HERE / "static"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["moment"] = describe.moment
templates.env.filters["schedule"] = describe.schedule
templates.env.globals.update(
    # choices the forms offer, the same on every page
    operators=[(op.value, op.value.replace("_", " ")) for op in Operator],
    weekdays=[(day, day.capitalize()) for day in get_args(Weekday)],
    time_zones=sorted(available_timezones()),
    modules=STANDARD_MODULES,
    outcomes=[outcome.value for outcome in Outcome],
    chart_series=charts.SERIES,
    rows=row_numbers,
)

T = TypeVar("T")

NOTHING = NoArguments()
PageNumber = Annotated[int, Query(alias="page", description="which page of a long list, from 1")]
# a filter form's "any" sends the parameter empty (``?outcome=``): that is no filter, not a bad value
AnyChoice = BeforeValidator(lambda value: value or None)

# what a page says after the action that led to it (``?notice=...``): fixed words, so a link cannot
# make the console say anything else
NOTICES = {
    "created": "The sync was created.",
    "saved": "Saved. The change applies from the next run.",
    "paused": "The sync is paused: nothing runs on schedule until it is activated.",
    "activated": "The sync is active.",
    "run_started": "The run has started.",
    "run_in_progress": "A run of this sync was already in progress: this is that run.",
    "removed": "Removed.",
    "revoked": "The token was revoked: it no longer works.",
    "user_added": "The user was added.",
    "connection_added": "The connection was added.",
}


def page(
    request: Request, template: str, who: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` for ``who``; ``may_edit`` / ``may_admin`` decide which controls a page shows (the
    server refuses the rest anyway)."""
    return templates.TemplateResponse(
        request,
        template,
        {
            "who": who,
            "csrf": csrf_token(request),
            "may_edit": who is not None and who.role.may(Role.EDITOR),
            "may_admin": who is not None and who.role.may(Role.ADMIN),
            "notice": NOTICES.get(request.query_params.get("notice", "")),
            **context,
        },
        status_code=status_code,
    )


async def partly(call: Awaitable[T], instead: T) -> tuple[T, str | None]:
    """The answer, or ``instead`` and the service's message: for what a page can show without (the
    runs of a sync while history is down), so one silent service does not blank the whole page."""
    try:
        return await call, None
    except HTTPException as exc:
        return instead, str(exc.detail)


def link(request: Request, path: str | None = None, /, **changes: object) -> str:
    """This page's query with ``changes`` (None drops a parameter), on ``path`` or this page's: pagers
    and exports keep the filters."""
    query = {key: value for key, value in request.query_params.items() if key != "notice"}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    query = {key: value for key, value in query.items() if value}
    return (path or request.url.path) + (f"?{urlencode(query)}" if query else "")


def refused(exc: ValidationError | HTTPException | None, names: Iterable[str]) -> tuple[Problems, int]:
    """A refused form's problems placed by field (``names``), and the status to answer with: 422 for
    what the models refuse, else the service's own, as the JSON API answers them."""
    if exc is None:
        return {}, 200
    if isinstance(exc, ValidationError):
        return place(describe_validation_error(exc), names), 422
    return place(str(exc.detail), names), exc.status_code


async def form_values(request: Request) -> dict[str, str]:
    """A posted form's text fields (the last of a repeated name), without the CSRF token."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str) and key != "csrf_token"}
