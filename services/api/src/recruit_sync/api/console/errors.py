"""Errors on console pages are pages: the JSON API's errors stay JSON, the console's are HTML in the
console's layout (a 503 "the history service is not answering" is a message, not a crash), and a
page that needs a session sends the browser to sign in first."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from recruit_sync.api.auth import SignInNeeded
from recruit_sync.api.console.describe import local_path
from recruit_sync.api.console.render import page
from recruit_sync.api.errors import describe_request_errors, invalid_request


def is_console(path: str) -> bool:
    return path in ("/", "/login", "/logout") or path.startswith("/console/")


async def sign_in_first(request: Request, exc: Exception) -> Response:
    """303 to the sign-in page, which comes back here afterwards. For htmx (a run's progress polled
    after the session ended) a 401 that tells it to go there, rather than a sign-in form swapped into
    the page."""
    assert isinstance(exc, SignInNeeded)
    if request.headers.get("HX-Request"):
        page_url = urlsplit(request.headers.get("HX-Current-URL", ""))  # the page, not the fragment
        back = local_path(page_url.path + (f"?{page_url.query}" if page_url.query else ""))
        return Response(status_code=401, headers={"HX-Redirect": f"/login?{urlencode({'next': back})}"})
    return RedirectResponse(f"/login?{urlencode({'next': exc.next_path})}", 303)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not is_console(request.url.path):
        return await http_exception_handler(request, exc)
    return error_page(request, exc.status_code, str(exc.detail), exc.headers)


async def invalid_request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not is_console(request.url.path):
        return await invalid_request(request, exc)
    return error_page(request, 422, describe_request_errors(exc.errors()))


def error_page(
    request: Request, status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The problem in the console's layout, without the navigation of a signed-in page (the
    principal is not known here: the failure may be that there is none)."""
    response = page(
        request, "error.html", None, status_code, title=HTTPStatus(status_code).phrase, message=message
    )
    response.headers.update(headers or {})
    return response
