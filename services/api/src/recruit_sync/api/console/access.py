"""Admin pages: console users and API tokens (``rpc.USER_*``, ``rpc.TOKEN_*``).

A new token is shown once, on the page that answers its creation (never stored by the browser:
``Cache-Control: no-store``); after that only its name, role and dates are listed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from recruit_sync.api.auth import PageAdmin, Svc
from recruit_sync.api.console.render import NOTHING, form_values, page, refused
from recruit_sync.api.gateway import Services
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import NewToken, NewUser, Principal, Role, TokenCreated, TokenRef, UserRef

router = APIRouter()

ROLES = [(role.value, role.value) for role in (Role.VIEWER, Role.EDITOR, Role.ADMIN)]


@router.get("/console/users")
async def users(request: Request, who: PageAdmin, services: Svc) -> HTMLResponse:
    return await _users_page(request, who, services)


@router.post("/console/users")
async def add_user(request: Request, who: PageAdmin, services: Svc) -> Response:
    values = await form_values(request)
    try:
        await services.call(rpc.USER_ADD, NewUser.model_validate(values))
    except (ValidationError, HTTPException) as exc:
        return await _users_page(request, who, services, values, exc)
    return RedirectResponse("/console/users?notice=user_added", 303)


@router.post("/console/users/remove")
async def remove_user(
    who: PageAdmin, services: Svc, email: Annotated[str, Form(max_length=320)]
) -> RedirectResponse:
    await services.call(rpc.USER_REMOVE, UserRef(email=email))
    return RedirectResponse("/console/users?notice=removed", 303)


@router.get("/console/tokens")
async def tokens(request: Request, who: PageAdmin, services: Svc) -> HTMLResponse:
    return await _tokens_page(request, who, services)


@router.post("/console/tokens")
async def create_token(request: Request, who: PageAdmin, services: Svc) -> HTMLResponse:
    values = await form_values(request)
    try:
        created = await services.call(rpc.TOKEN_CREATE, NewToken.model_validate(values))
    except (ValidationError, HTTPException) as exc:
        return await _tokens_page(request, who, services, values, exc)
    return await _tokens_page(request, who, services, created=created)


@router.post("/console/tokens/revoke")
async def revoke_token(
    who: PageAdmin, services: Svc, name: Annotated[str, Form(max_length=100)]
) -> RedirectResponse:
    await services.call(rpc.TOKEN_REVOKE, TokenRef(name=name))
    return RedirectResponse("/console/tokens?notice=revoked", 303)


async def _users_page(
    request: Request,
    who: Principal,
    services: Services,
    values: dict[str, str] | None = None,
    refusal: ValidationError | HTTPException | None = None,
) -> HTMLResponse:
    errors, status_code = refused(refusal, NewUser.model_fields)
    return page(
        request, "users.html", who, status_code,
        section="users", users=await services.call(rpc.USER_LIST, NOTHING), role_choices=ROLES,
        values={key: value for key, value in (values or {"role": "viewer"}).items() if key != "password"},
        errors=errors,
    )  # fmt: skip


async def _tokens_page(
    request: Request,
    who: Principal,
    services: Services,
    values: dict[str, str] | None = None,
    refusal: ValidationError | HTTPException | None = None,
    created: TokenCreated | None = None,
) -> HTMLResponse:
    errors, status_code = refused(refusal, NewToken.model_fields)
    response = page(
        request, "tokens.html", who, status_code,
        section="tokens", tokens=await services.call(rpc.TOKEN_LIST, NOTHING), role_choices=ROLES,
        values=values or {"role": "viewer"}, errors=errors, created=created,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response
