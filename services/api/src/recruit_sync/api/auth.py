"""Who may use the API and the console (INTERFACE.md "Access", docs/adr/0018).

A request acts for a ``Principal``: an API token (``Authorization: Bearer rs_...``, for scripts and the
CLI) or a console user signed in with a session cookie. The scheduler keeps users and tokens (only
hashes); the API asks it (``rpc.AUTH_TOKEN``, ``AUTH_USER``, ``AUTH_SIGN_IN``) and remembers a verdict for
``CHECK_SECONDS``, so a revoked token or a removed user is refused within that time.

* Every route but ``/health``, the sign-in form and static files depends on ``Viewer``, ``Editor`` or
  ``Admin`` (pages on ``PageViewer``, ...): 401 without credentials (a page redirects to ``/login``), 403
  for a role that may not.
* The session cookie is Starlette's signed cookie (itsdangerous): HttpOnly, SameSite=Lax, Secure when the
  API is served over https, signed with a key derived from the deployment's secret key. It holds the
  user's email and a CSRF token; an unsafe request (POST, PATCH, DELETE) made with the cookie must carry
  that token (form field ``csrf_token`` or header ``X-CSRF-Token``). Requests with a bearer token carry
  no cookie, so they need none.
* Sign-in is rate limited per client address and per email (``SignInLimiter``).
No password, token or hash is ever logged or answered: the CLI's one-line errors say what is wrong.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Final

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.middleware.sessions import SessionMiddleware

from recruit_sync.api.gateway import Services
from recruit_sync.contracts import rpc
from recruit_sync.contracts.access import Principal, Role, SignIn, TokenCheck, UserRef, token_hash
from recruit_sync.runtime.crypto import derive_key

SESSION_COOKIE: Final = "recruit_sync_session"
SESSION_HOURS: Final = 12
CHECK_SECONDS: Final = 10.0
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
WRONG_SIGN_IN: Final = "the email or password is wrong"
NOT_SIGNED_IN: Final = (
    "no credentials: send an API token (Authorization: Bearer ...; the CLI reads RECRUIT_SYNC_TOKEN, "
    "'recruit-sync token create' makes one) or sign in to the console"
)
CSRF_REFUSED: Final = (
    "the form is out of date or was not sent by this console (CSRF token missing or wrong); "
    "reload the page and try again"
)

_bearer = HTTPBearer(auto_error=False, description="an API token from 'recruit-sync token create'")


class SignInNeeded(Exception):
    """A page needs a signed-in user: the console answers with a redirect to ``/login?next=...``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass
class Verdicts:
    """Recent answers of the scheduler about a token or a user (None: refused), for ``ttl`` seconds."""

    ttl: float = CHECK_SECONDS
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)

    def get(self, key: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < self.clock():
            self._entries.pop(key, None)
            return False, None
        return True, entry[1]

    def put(self, key: str, principal: Principal | None) -> None:
        if len(self._entries) > 10_000:  # many distinct bad tokens: forget, rather than grow
            self._entries.clear()
        self._entries[key] = (self.clock() + self.ttl, principal)


@dataclass
class SignInLimiter:
    """At most ``attempts`` failed sign-ins per ``window`` seconds for each key (a client address, an
    email): enough for a person mistyping, too few for guessing. Per API process."""

    attempts: int = 5
    window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds until another attempt is allowed (0: now)."""
        now = self.clock()
        longest = 0.0
        for key in keys:
            failures = self._recent(key, now)
            if len(failures) >= self.attempts:
                longest = max(longest, failures[0] + self.window - now)
        return longest

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures


@dataclass
class Access:
    services: Services
    verdicts: Verdicts = field(default_factory=Verdicts)
    limiter: SignInLimiter = field(default_factory=SignInLimiter)

    async def of_token(self, token: str) -> Principal | None:
        digest = token_hash(token)
        check = TokenCheck(token_hash=digest)
        return await self._remembered(f"token:{digest}", lambda: self.services.call(rpc.AUTH_TOKEN, check))

    async def of_user(self, email: str) -> Principal | None:
        user = UserRef(email=email)
        return await self._remembered(f"user:{email}", lambda: self.services.call(rpc.AUTH_USER, user))

    async def _remembered(self, key: str, ask: Callable[[], Awaitable[Principal]]) -> Principal | None:
        known, principal = self.verdicts.get(key)
        if known:
            return principal
        try:
            principal = await ask()
        except HTTPException as exc:
            if exc.status_code != 401:
                raise  # the scheduler is not answering: say so (503), do not pretend the token is bad
            principal = None
        self.verdicts.put(key, principal)
        return principal


def install(app: FastAPI, services: Services, *, https: bool) -> Access:
    """Sessions and the access checks for ``app``."""
    access = Access(services)
    app.state.access = access
    app.add_middleware(
        SessionMiddleware,
        secret_key=derive_key("console-session"),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=https,
    )
    return access


def services_of(request: Request) -> Services:
    """The typed RPC calls to the services (``gateway.Services``), for JSON routes and pages alike."""
    return _access(request).services


Svc = Annotated[Services, Depends(services_of)]


def _access(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


async def principal_of(request: Request, bearer: HTTPAuthorizationCredentials | None) -> Principal | None:
    """The token's principal, else the signed-in user's; None when the request has neither."""
    access = _access(request)
    if request.headers.get("authorization") is not None:
        if bearer is None or not bearer.credentials.strip():
            raise HTTPException(401, "the Authorization header must be 'Bearer <token>'", _CHALLENGE)
        principal = await access.of_token(bearer.credentials.strip())
        if principal is None:
            raise HTTPException(401, "the API token is not valid (unknown or revoked)", _CHALLENGE)
        request.state.by_session = False
        return principal
    email = request.session.get("email")
    if not isinstance(email, str):
        return None
    principal = await access.of_user(email)
    if principal is None:  # removed since signing in
        request.session.clear()
        return None
    request.state.by_session = True
    return principal


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require(needed: Role, *, page: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the request's principal, if its role may do what ``needed`` may."""

    async def dependency(
        request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
    ) -> Principal:
        principal = await principal_of(request, bearer)
        if principal is None:
            if page:
                query = f"?{request.url.query}" if request.url.query else ""
                raise SignInNeeded(request.url.path + query)
            raise HTTPException(401, NOT_SIGNED_IN, _CHALLENGE)
        if request.method not in SAFE_METHODS and request.state.by_session:
            await check_csrf(request)
        if not principal.role.may(needed):
            raise HTTPException(
                403, f"{principal.name} has the {principal.role} role; this needs {needed} or above"
            )
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require(Role.EDITOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
PageViewer = Annotated[Principal, Depends(require(Role.VIEWER, page=True))]
PageEditor = Annotated[Principal, Depends(require(Role.EDITOR, page=True))]
PageAdmin = Annotated[Principal, Depends(require(Role.ADMIN, page=True))]


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use), for forms and htmx headers."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """403 unless the request carries the session's CSRF token (form field or header). The sign-in
    form checks it too (a token made for the anonymous session), so no other site can sign a browser
    in to an account of its choosing."""
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        given = value if isinstance(value, str) else None
    if not isinstance(expected, str) or given is None or not secrets.compare_digest(expected, given):
        raise HTTPException(403, CSRF_REFUSED)


async def sign_in(request: Request, email: str, password: str) -> Principal:
    """Check the credentials with the scheduler and start a session (a fresh one: a session cookie set
    before signing in is never promoted). Rate limited per client address and per email."""
    access = _access(request)
    client = request.client.host if request.client is not None else "unknown"
    keys = (f"client:{client}", f"email:{email.strip().lower()}")
    wait = access.limiter.wait(keys)
    if wait > 0:
        seconds = math.ceil(wait)
        raise HTTPException(
            429, f"too many sign-in attempts; try again in {seconds} seconds", {"Retry-After": str(seconds)}
        )
    try:
        principal = await access.services.call(rpc.AUTH_SIGN_IN, SignIn(email=email, password=password))
    except ValidationError:
        principal = None
    except HTTPException as exc:
        if exc.status_code != 401:
            raise
        principal = None
    if principal is None:
        access.limiter.failed(keys)
        raise HTTPException(401, WRONG_SIGN_IN)
    access.limiter.succeeded(keys)
    request.session.clear()
    request.session.update({"email": principal.name, "csrf": secrets.token_urlsafe(32)})
    access.verdicts.put(f"user:{principal.name}", principal)
    return principal


def sign_out(request: Request) -> None:
    request.session.clear()
