"""Signing in and out of the console: the only pages that need no session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from recruit_sync.api.auth import PageViewer, check_csrf, sign_in, sign_out
from recruit_sync.api.console.describe import local_path
from recruit_sync.api.console.render import page

router = APIRouter()

NextPage = Annotated[str, Query(alias="next", max_length=2000)]


@router.get("/login")
async def login_page(request: Request, next_page: NextPage = "/") -> HTMLResponse:
    return page(request, "login.html", None, next=local_path(next_page), email="")


@router.post("/login", response_model=None)
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> HTMLResponse | RedirectResponse:
    """On to ``next`` (a path on this site only), or the form again with why not: a wrong email or
    password (401), or too many attempts (429, with how long to wait)."""
    try:
        await check_csrf(request)
        await sign_in(request, email.strip(), password)
    except HTTPException as exc:
        response = page(
            request, "login.html", None, exc.status_code,
            next=local_path(next_page), email=email, problem=exc.detail,
        )  # fmt: skip
        response.headers.update(exc.headers or {})
        return response
    return RedirectResponse(local_path(next_page), 303)


@router.post("/logout")
async def logout(request: Request, who: PageViewer) -> RedirectResponse:
    sign_out(request)
    return RedirectResponse("/login", 303)
