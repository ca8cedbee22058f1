"""Zoho OAuth for Recruit calls, as an ``httpx.Auth`` (facts: shared/reference/recruit-api.md).

* The refresh-token grant, its access token cached in a ``TokenCache`` until shortly before it
  expires. The cache is passed in: the process keeps one (``handlers.recruit_client_factory``), so
  successive runs of a connection reuse its token; a test passes its own.
* Zoho grants about ten access tokens per refresh token per ten minutes, so grants are throttled
  locally: past that, wait for a slot, or give up (``RecruitUnavailable``) if the wait is too long.
* A ``401 INVALID_TOKEN`` / ``AUTHENTICATION_FAILED`` answer: the token is forgotten, one new one is
  granted and the request is sent once more. Any other 401, or one after the refresh, is handed back
  to the caller, which fails the call as ``AuthFailed``. A refused grant is ``AuthFailed`` at once.

Neither the secrets nor the tokens appear in an exception text or a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass, field

import httpx

from recruit_sync.fetcher.recruit_http import (
    MAX_DETAIL,
    AuthFailed,
    RecruitError,
    RecruitUnavailable,
    Sender,
    error_fields,
)

TOKEN_PATH = "/oauth/v2/token"
_REFRESHABLE_401 = {"INVALID_TOKEN", "AUTHENTICATION_FAILED"}
_FINAL_TOKEN_ERRORS = {"invalid_client", "invalid_code", "invalid_grant", "unauthorized_client"}


@dataclass(frozen=True)
class Credentials:
    """A connection's OAuth client and refresh token (decrypted; never shown by ``repr``)."""

    accounts_url: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def key(self) -> str:
        """What tokens are cached under: another refresh token is another key (hashed: not kept in clear)."""
        digest = hashlib.sha256(self.refresh_token.encode()).hexdigest()
        return f"{self.accounts_url.rstrip('/')}|{self.client_id}|{digest}"


@dataclass
class TokenState:
    """What one refresh token has been granted: its current access token and its recent grants."""

    access_token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0
    grants: deque[float] = field(default_factory=deque)
    _lock: asyncio.Lock | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)

    def refresh_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; a process (or test session) may run several.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock


class TokenCache:
    """Access tokens per refresh token, shared by every client given the same cache."""

    def __init__(self) -> None:
        self._states: dict[str, TokenState] = {}

    def state(self, credentials: Credentials) -> TokenState:
        return self._states.setdefault(credentials.key, TokenState())


class RecruitAuth(httpx.Auth):
    """Sets ``Authorization: Zoho-oauthtoken ...`` on each request; refreshes once on a stale token.

    Token requests go through ``sender``: its retries for 5xx and network errors, its policy for the
    grant throttle, its sleep; they cost no credits.
    """

    def __init__(
        self,
        credentials: Credentials,
        cache: TokenCache,
        sender: Sender,
        *,
        clock: Callable[[], float],
    ) -> None:
        self._credentials = credentials
        self._state = cache.state(credentials)
        self._sender = sender
        self._clock = clock

    # Granting a token is I/O under a lock, so the flow is httpx's async one (``async_auth_flow``), not
    # ``auth_flow``; it reads a 401's body itself, as ``requires_response_body`` only serves ``auth_flow``.

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RecruitAuth grants tokens asynchronously: use it with httpx.AsyncClient")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._access_token()
        for refreshed in (False, True):
            request.headers["Authorization"] = f"Zoho-oauthtoken {token}"
            response = yield request
            if response.status_code != 401:
                return
            self._forget(token)  # refused once, refused for good: the next request needs a new one
            await response.aread()
            if refreshed or error_fields(response)[0] not in _REFRESHABLE_401:
                return  # the caller reads the 401 and fails the call
            token = await self._access_token()

    def _forget(self, token: str) -> None:
        state = self._state
        if state.access_token == token:  # another task may already have replaced it
            state.access_token, state.expires_at = None, 0.0

    async def _access_token(self) -> str:
        state = self._state
        if state.access_token and self._clock() < state.expires_at:
            return state.access_token
        async with state.refresh_lock():
            if state.access_token and self._clock() < state.expires_at:
                return state.access_token
            await self._wait_for_grant()
            token, expires_in = await self._grant()
            now = self._clock()
            state.grants.append(now)
            # Refresh a little early so a token never expires between the check and the call.
            state.access_token, state.expires_at = token, now + expires_in - min(60.0, expires_in * 0.1)
            return token

    async def _wait_for_grant(self) -> None:
        """Keep under Zoho's access-token throttle; wait for a slot, or give up if that is too long."""
        grants, policy = self._state.grants, self._sender.retry
        window = policy.token_window
        while grants and grants[0] <= self._clock() - window:
            grants.popleft()
        if len(grants) < policy.token_grants:
            return
        wait = grants[0] + window - self._clock()
        if wait > policy.max_wait:
            raise RecruitUnavailable(
                f"POST {TOKEN_PATH}",
                f"{len(grants)} access tokens requested in the last {window:.0f}s; "
                f"Zoho throttles more (next in {wait:.0f}s)",
            )
        await self._sender.sleep(wait)
        grants.popleft()

    async def _grant(self) -> tuple[str, float]:
        credentials = self._credentials
        call = f"POST {TOKEN_PATH}"
        form = {
            "grant_type": "refresh_token",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "refresh_token": credentials.refresh_token,
        }
        url = credentials.accounts_url.rstrip("/") + TOKEN_PATH
        response = await self._sender.send(call, self._sender.request("POST", url, data=form))
        return token_from(call, response)


def token_from(call: str, response: httpx.Response) -> tuple[str, float]:
    """The access token and its lifetime, or the reason there is none (Zoho answers errors with 200 too)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        raise RecruitError(call, f"HTTP {status} with a body that is not JSON", status=status) from None
    if not isinstance(body, dict):
        raise RecruitError(call, f"HTTP {status} with a body that is not a JSON object", status=status)
    error = body.get("error")
    if error is not None:
        error_text = str(error)[:MAX_DETAIL]
        description = str(body.get("error_description", ""))[:MAX_DETAIL]
        if error_text in _FINAL_TOKEN_ERRORS:
            raise AuthFailed(call, f"token refused: {error_text}", status=status, code=error_text)
        if "too many" in f"{error_text} {description}".lower():
            raise RecruitUnavailable(call, f"token requests throttled by Zoho: {error_text}", status=status)
        raise RecruitError(call, f"token refused: {error_text} {description}".strip(), status=status)
    token = body.get("access_token")
    if status != 200 or not isinstance(token, str) or not token:
        raise RecruitError(call, f"HTTP {status} without an access_token", status=status)
    expires_in = body.get("expires_in", 3600)
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = 3600
    return token, float(expires_in)
