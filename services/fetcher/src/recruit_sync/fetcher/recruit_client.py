"""A small Zoho Recruit v2 client on httpx (facts: shared/reference/recruit-api.md).

The transport is a seam: production passes nothing (real network), tests pass ``httpx.MockTransport`` and
the simulator is reached through ``httpx.ASGITransport``, so every caller runs this same code.

What it takes care of, so callers do not:
* OAuth refresh-token grant; the access token is cached per (accounts server, client id, refresh token)
  at module level, so successive runs in one process reuse it, and new grants are throttled locally
  (Zoho allows about ten per refresh token per ten minutes);
* 401 ``INVALID_TOKEN`` / ``AUTHENTICATION_FAILED``: one refresh and one retry, then ``AuthFailed``;
* 429: wait as ``Retry-After`` / ``X-RATELIMIT-RESET`` say (bounded), 5xx and network errors: bounded
  exponential backoff with jitter; ``RecruitUnavailable`` once the retries are spent;
* 204 = no records; an error inside HTTP 200; bodies that are not the documented JSON (``RecruitError``
  naming the call);
* counting ``api_calls`` and ``credits`` (list and search 3, anything else 1; token calls are free);
* caching ``settings/modules`` per process for ``MODULES_TTL`` (docs/adr/0012-recruit-client-resilience.md).

Exception texts name the call (method and path) and Recruit's code and message, never a secret.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import orjson

API_PREFIX = "/recruit/v2"
TOKEN_PATH = "/oauth/v2/token"
LIST_CREDITS = 3
OTHER_CREDITS = 1
_REFRESHABLE_401 = {"INVALID_TOKEN", "AUTHENTICATION_FAILED"}
# Transport errors after the request went out: Recruit has it, whatever became of the answer.
_SENT_BUT_UNANSWERED = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
_FINAL_TOKEN_ERRORS = {"invalid_client", "invalid_code", "invalid_grant", "unauthorized_client"}
_MAX_DETAIL = 200
# The module list changes when an admin adds or renames a module: rarely. Reading it once per run costs
# a credit and a round trip per run; five minutes covers a burst of runs due together and manual
# re-runs, and a module renamed meanwhile fails one run at most (INVALID_MODULE drops the entry).
MODULES_TTL = 300.0


class RecruitError(Exception):
    """A call to Recruit did not give what the API documents. ``call`` is ``"GET /recruit/v2/..."``."""

    def __init__(self, call: str, detail: str, *, status: int | None = None, code: str | None = None):
        super().__init__(f"{call}: {detail}")
        self.call = call
        self.status = status
        self.code = code


class AuthFailed(RecruitError):
    """The credentials are refused (final): the connection's syncs must become inactive."""


class RecruitUnavailable(RecruitError):
    """Recruit kept failing transiently (5xx, timeouts, rate limits) until the retries were spent."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests pass tiny delays; production keeps the defaults."""

    attempts: int = 5  # tries per call for 5xx / timeouts / connection errors
    backoff_base: float = 0.5  # seconds; doubled per retry
    backoff_max: float = 20.0
    rate_limit_retries: int = 5  # 429s tolerated per call
    max_wait: float = 120.0  # longest single wait for a 429 or the token throttle; longer -> give up
    token_grants: int = 10  # access tokens per refresh token ...
    token_window: float = 600.0  # ... per this many seconds (Zoho's throttle)

    def backoff(self, retry: int) -> float:
        """Exponential, capped, with jitter in [50%, 100%] so replicas do not retry in lockstep."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0**retry)
        return ceiling * (0.5 + random.random() / 2)


@dataclass
class _TokenState:
    """What one refresh token has learned (module-level, shared by clients): its cached access token,
    its recent grants and, per Recruit base URL, the module list with the moment it was read."""

    access_token: str | None = None
    expires_at: float = 0.0
    grants: deque[float] = field(default_factory=deque)
    lock: asyncio.Lock | None = None
    loop: asyncio.AbstractEventLoop | None = None
    modules: dict[str, tuple[float, list[dict[str, Any]]]] = field(default_factory=dict)

    def refresh_lock(self) -> asyncio.Lock:
        # An asyncio.Lock belongs to one event loop; a process (or test session) may run several.
        loop = asyncio.get_running_loop()
        if self.lock is None or self.loop is not loop:
            self.lock, self.loop = asyncio.Lock(), loop
        return self.lock


_TOKENS: dict[str, _TokenState] = {}


def clear_token_cache() -> None:
    """Forget every cached access token and module list (tests; new credentials have another key)."""
    _TOKENS.clear()


def _token_key(accounts_url: str, client_id: str, refresh_token: str) -> str:
    digest = hashlib.sha256(refresh_token.encode()).hexdigest()
    return f"{accounts_url}|{client_id}|{digest}"


def format_since(moment: datetime) -> str:
    """``If-Modified-Since`` as Recruit documents it: ISO 8601 with offset (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")


Converted = bool | Literal["both"] | None


def _converted_param(converted: Converted) -> dict[str, str]:
    """``converted=true|false|both`` for list and search calls; nothing for Recruit's default."""
    if converted is None:
        return {}
    return {"converted": converted if isinstance(converted, str) else str(converted).lower()}


class RecruitClient:
    """One connection's view of Recruit. Use as ``async with RecruitClient(...) as client``."""

    def __init__(
        self,
        base_url: str,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        deleted_type: str = "all",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        modules_ttl: float = MODULES_TTL,
    ) -> None:
        self._base_url = base_url.rstrip("/").removesuffix(API_PREFIX)
        self._accounts_url = accounts_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._retry = retry or RetryPolicy()
        self._deleted_type = deleted_type  # Recruit's docs spell it "all" and "All"; unconfirmed which
        self._sleep = sleep
        self._clock = clock
        self._modules_ttl = modules_ttl
        self._token_key = _token_key(self._accounts_url, client_id, refresh_token)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        self.api_calls = 0
        self.credits = 0

    async def __aenter__(self) -> RecruitClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- public calls -------------------------------------------------------------------------

    async def modules(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """``GET settings/modules``: every module with ``api_name``, ``plural_label``, ...

        Answered from this process's cache when it is younger than ``modules_ttl``, unless ``fresh``
        (a module name missing from a cached list may be a module created since).
        """
        cache = self._state().modules
        cached = cache.get(self._base_url)
        if not fresh and cached is not None and self._clock() - cached[0] < self._modules_ttl:
            return list(cached[1])
        call, body = await self._get("settings/modules", credits=OTHER_CREDITS)
        modules = body.get("modules") if body is not None else None
        if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
            raise RecruitError(call, "body has no 'modules' list of objects")
        cache[self._base_url] = (self._clock(), modules)
        return list(modules)

    async def list_records(
        self,
        module: str,
        *,
        cvid: str | None = None,
        converted: Converted = None,
        since: datetime | None = None,
        per_page: int = 200,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every record of ``module`` (all fields), one page per iteration."""
        params: dict[str, str] = {}
        if cvid is not None:
            params["cvid"] = cvid
        params.update(_converted_param(converted))
        async for page in self._pages(module, params, since, per_page, credits=LIST_CREDITS):
            yield page

    async def search_records(
        self,
        module: str,
        criteria: str,
        *,
        converted: Converted = None,
        since: datetime | None = None,
        per_page: int = 200,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The records of ``module`` matching ``criteria`` (all fields), one page per iteration.

        ``criteria`` is Recruit's criteria text with values already backslash-escaped
        (``recruit_sync.criteria.search``); it is URL-encoded here, like every query parameter.
        """
        params = {"criteria": criteria, **_converted_param(converted)}
        async for page in self._pages(f"{module}/search", params, since, per_page, credits=LIST_CREDITS):
            yield page

    async def deleted_records(
        self, module: str, since: datetime | None = None, *, per_page: int = 200
    ) -> AsyncIterator[dict[str, Any]]:
        """Every deleted-record item of ``module`` (``{"id", "deleted_time", ...}``) since ``since``."""
        params = {"type": self._deleted_type}
        async for page in self._pages(f"{module}/deleted", params, since, per_page, credits=OTHER_CREDITS):
            for item in page:
                yield item

    # ---- paging -------------------------------------------------------------------------------

    async def _pages(
        self, path: str, params: dict[str, str], since: datetime | None, per_page: int, *, credits: int
    ) -> AsyncIterator[list[dict[str, Any]]]:
        headers = {"If-Modified-Since": format_since(since)} if since is not None else {}
        page, page_token = 1, None
        while True:
            query = {**params, "per_page": str(per_page)}
            if page_token is not None:
                query["page_token"] = page_token  # CRM refuses `page` past 2,000 records without it
            else:
                query["page"] = str(page)
            call, body = await self._get(path, params=query, headers=headers, credits=credits)
            if body is None:  # 204: nothing (more) to list
                return
            records, info = _page_parts(call, body)
            if records:
                yield records
            # An empty page that claims more would loop forever; treat it as the end.
            if not records or not info.get("more_records"):
                return
            token = info.get("next_page_token")
            page_token = token if isinstance(token, str) and token else None
            page += 1

    # ---- one call, with auth and retries ------------------------------------------------------

    async def _get(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        credits: int,
    ) -> tuple[str, dict[str, Any] | None]:
        """GET ``/recruit/v2/{path}``; returns (call name, JSON body or None for 204)."""
        url_path = f"{API_PREFIX}/{path}"
        call = f"GET {url_path}"
        refreshed = False
        rate_limited = 0
        while True:
            token = await self._access_token()
            send = functools.partial(
                self._http.get,
                self._base_url + url_path,
                params=params,
                headers={**(headers or {}), "Authorization": f"Zoho-oauthtoken {token}"},
            )
            response = await self._send(call, send, credits=credits)
            status = response.status_code
            if status == 401:
                code, message = _error_fields(response)
                self._forget(token)  # refused once, refused for good: the next call needs a new one
                if code in _REFRESHABLE_401 and not refreshed:
                    refreshed = True
                    continue
                raise AuthFailed(call, _describe(status, code, message), status=status, code=code)
            if status == 429:
                rate_limited += 1
                wait = rate_limit_wait(response.headers, time.time())
                if rate_limited > self._retry.rate_limit_retries or wait > self._retry.max_wait:
                    raise RecruitUnavailable(
                        call, f"rate limited (HTTP 429, wait {wait:.0f}s, {rate_limited} times)", status=429
                    )
                await self._sleep(wait)
                continue
            if status == 204:
                return call, None
            if not 200 <= status < 300:
                code, message = _error_fields(response)
                if code == "INVALID_MODULE":  # renamed or removed: the cached list is out of date
                    self._state().modules.pop(self._base_url, None)
                raise RecruitError(call, _describe(status, code, message), status=status, code=code)
            return call, _success_body(call, response)

    async def _send(
        self, call: str, request: Callable[[], Awaitable[httpx.Response]], *, credits: int | None
    ) -> httpx.Response:
        """Send until the answer is not a 5xx; 5xx and network errors back off, a bounded number of times.

        With ``credits`` the call is metered like Recruit does: every answer is a call; 401, 429 and
        5xx answers cost no credits. A request Recruit received but did not answer in time counts as
        a call with its credits: Recruit probably served and billed it, and a count meant to protect a
        credit budget had better err high.
        """
        failures = 0
        while True:
            try:
                response = await request()
            except httpx.TransportError as exc:  # timeouts, refused/reset connections
                problem = type(exc).__name__
                if credits is not None and isinstance(exc, _SENT_BUT_UNANSWERED):
                    self.api_calls += 1
                    self.credits += credits
            except httpx.RequestError as exc:  # undecodable body, redirect loop: retrying will not help
                raise RecruitError(call, f"{type(exc).__name__} reading the response") from None
            else:
                status = response.status_code
                if credits is not None:
                    self.api_calls += 1
                    if status not in (401, 429) and status < 500:
                        self.credits += credits
                if status < 500:
                    return response
                problem = f"HTTP {status}"
            failures += 1
            if failures >= self._retry.attempts:
                raise RecruitUnavailable(call, f"{problem} after {failures} tries")
            await self._sleep(self._retry.backoff(failures - 1))

    # ---- OAuth --------------------------------------------------------------------------------

    def _state(self) -> _TokenState:
        return _TOKENS.setdefault(self._token_key, _TokenState())

    def _forget(self, token: str) -> None:
        state = self._state()
        if state.access_token == token:  # another task may already have replaced it
            state.access_token, state.expires_at = None, 0.0

    async def _access_token(self) -> str:
        state = self._state()
        if state.access_token and self._clock() < state.expires_at:
            return state.access_token
        async with state.refresh_lock():
            if state.access_token and self._clock() < state.expires_at:
                return state.access_token
            await self._wait_for_grant(state)
            token, expires_in = await self._grant()
            now = self._clock()
            state.grants.append(now)
            # Refresh a little early so a token never expires between the check and the call.
            state.access_token, state.expires_at = token, now + expires_in - min(60.0, expires_in * 0.1)
            return token

    async def _wait_for_grant(self, state: _TokenState) -> None:
        """Keep under Zoho's access-token throttle; wait for a slot, or give up if that is too long."""
        window = self._retry.token_window
        while state.grants and state.grants[0] <= self._clock() - window:
            state.grants.popleft()
        if len(state.grants) < self._retry.token_grants:
            return
        wait = state.grants[0] + window - self._clock()
        if wait > self._retry.max_wait:
            raise RecruitUnavailable(
                f"POST {TOKEN_PATH}",
                f"{len(state.grants)} access tokens requested in the last {window:.0f}s; "
                f"Zoho throttles more (next in {wait:.0f}s)",
            )
        await self._sleep(wait)
        state.grants.popleft()

    async def _grant(self) -> tuple[str, float]:
        call = f"POST {TOKEN_PATH}"
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        response = await self._send(
            call, lambda: self._http.post(self._accounts_url + TOKEN_PATH, data=form), credits=None
        )
        return _token_from(call, response)


def _token_from(call: str, response: httpx.Response) -> tuple[str, float]:
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
        error_text = str(error)[:_MAX_DETAIL]
        description = str(body.get("error_description", ""))[:_MAX_DETAIL]
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


def _success_body(call: str, response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)  # pages are the hot path: orjson parses ~3x faster
    except ValueError:
        raise RecruitError(call, f"HTTP {response.status_code} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise RecruitError(call, "body is not a JSON object")
    # Some errors arrive inside HTTP 200 as {"data": [{"status": "error", "code": ...}]}.
    data = body.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("status") == "error":
        code, message = _str_or_none(data[0].get("code")), _str_or_none(data[0].get("message"))
        raise RecruitError(call, _describe(response.status_code, code, message), status=200, code=code)
    return body


def _page_parts(call: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    data, info = body.get("data"), body.get("info")
    if not isinstance(data, list):
        raise RecruitError(call, "body has no 'data' list")
    if not isinstance(info, dict):
        raise RecruitError(call, "body has no 'info' object")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise RecruitError(call, f"data[{index}] is a {type(item).__name__}, not an object")
    return data, info


def _error_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    """Recruit's ``code`` and ``message`` from an error body, if it has the documented shape."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        body = body["data"][0]
    if not isinstance(body, dict):
        return None, None
    return _str_or_none(body.get("code")), _str_or_none(body.get("message"))


def _str_or_none(value: object) -> str | None:
    return str(value)[:_MAX_DETAIL] if value is not None else None


def _describe(status: int, code: str | None, message: str | None) -> str:
    parts = [f"HTTP {status}"]
    if code:
        parts.append(code)
    if message:
        parts.append(f"({message})")
    return " ".join(parts)


def rate_limit_wait(headers: httpx.Headers, now: float) -> float:
    """Seconds to wait after a 429: ``Retry-After`` (seconds), else ``X-RATELIMIT-RESET``.

    Zoho's reset header is documented loosely; values that look like epoch seconds or milliseconds are
    read as a moment, smaller ones as seconds to wait. Without either header, wait one second.
    """
    for name in ("Retry-After", "X-RATELIMIT-RESET"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        if value > 1e12:
            value = value / 1000 - now
        elif value > 1e9:
            value = value - now
        return max(0.0, value)
    return 1.0
