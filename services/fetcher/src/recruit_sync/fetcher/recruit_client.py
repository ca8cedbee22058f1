"""A small Zoho Recruit v2 client on httpx (facts: shared/reference/recruit-api.md).

What it takes care of, so callers do not:
* OAuth (``recruit_auth.RecruitAuth``, an ``httpx.Auth``): tokens granted, cached in the ``TokenCache``
  passed in, throttled, refreshed once on a stale token; ``AuthFailed`` when the credentials are refused;
* 429: wait as ``Retry-After`` / ``X-RATELIMIT-RESET`` say (bounded), 5xx and network errors: bounded
  exponential backoff with jitter (``recruit_http.Sender``); ``RecruitUnavailable`` once the retries
  are spent;
* 204 = no records; an error inside HTTP 200; bodies that are not the documented JSON (``RecruitError``
  naming the call);
* reading of each record only the fields the caller names (``fields``): a page is parsed by msgspec
  into those alone, the others skipped unbuilt (docs/adr/0028);
* counting ``api_calls`` and ``credits`` (list and search 3, anything else 1; token calls are free);
* caching ``settings/modules`` in the ``ModuleCache`` passed in, for its ``ttl``
  (docs/adr/0012-recruit-client-resilience.md).

Exception texts name the call (method and path) and Recruit's code and message, never a secret.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, cast

import httpx
import msgspec
import orjson

from recruit_sync.fetcher.recruit_auth import Credentials, RecruitAuth, TokenCache
from recruit_sync.fetcher.recruit_http import (
    AuthFailed,
    RecruitError,
    RecruitUnavailable,
    RetryPolicy,
    Sender,
    describe,
    error_fields,
    str_or_none,
)
from recruit_sync.fetcher.slim import slim

API_PREFIX = "/recruit/v2"
LIST_CREDITS = 3
OTHER_CREDITS = 1
# The module list changes when an admin adds or renames a module: rarely. Reading it once per run costs
# a credit and a round trip per run; five minutes covers a burst of runs due together and manual
# re-runs, and a module renamed meanwhile fails one run at most (INVALID_MODULE drops the entry).
MODULES_TTL = 300.0


class ModuleCache:
    """Module lists read from Recruit, per credentials and Recruit base URL, with when they were read.

    Passed in like the ``TokenCache``: the process keeps one, a test its own.
    """

    def __init__(self, ttl: float = MODULES_TTL) -> None:
        self.ttl = ttl
        self._lists: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def get(self, key: str, now: float) -> list[dict[str, Any]] | None:
        """A copy of the list read less than ``ttl`` seconds before ``now`` (callers may edit theirs)."""
        cached = self._lists.get(key)
        if cached is None or now - cached[0] >= self.ttl:
            return None
        return list(cached[1])

    def put(self, key: str, now: float, modules: list[dict[str, Any]]) -> None:
        self._lists[key] = (now, list(modules))

    def drop(self, key: str) -> None:
        self._lists.pop(key, None)


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
    """One connection's view of Recruit. Use as ``async with RecruitClient(...) as client``.

    ``tokens`` and ``module_lists`` are the process's caches (by default, the client's own).
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        tokens: TokenCache | None = None,
        module_lists: ModuleCache | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        deleted_type: str = "all",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base_url = base_url.rstrip("/").removesuffix(API_PREFIX)
        self._deleted_type = deleted_type  # Recruit's docs spell it "all" and "All"; unconfirmed which
        self._clock = clock
        self._sender = Sender(transport, timeout=timeout, retry=retry or RetryPolicy(), sleep=sleep)
        self._auth = RecruitAuth(credentials, tokens or TokenCache(), self._sender, clock=clock)
        self._module_lists = module_lists or ModuleCache()
        self._modules_key = f"{credentials.key}|{self._base_url}"

    @property
    def api_calls(self) -> int:
        return self._sender.meter.api_calls

    @property
    def credits(self) -> int:
        return self._sender.meter.credits

    async def __aenter__(self) -> RecruitClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._sender.aclose()

    # ---- public calls -------------------------------------------------------------------------

    async def modules(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """``GET settings/modules``: every module with ``api_name``, ``plural_label``, ...

        Answered from the module cache when its list is younger than its ``ttl``, unless ``fresh``
        (a module name missing from a cached list may be a module created since).
        """
        if not fresh:
            cached = self._module_lists.get(self._modules_key, self._clock())
            if cached is not None:
                return cached
        call, body = await self._get("settings/modules", credits=OTHER_CREDITS)
        modules = body.get("modules") if body is not None else None
        if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
            raise RecruitError(call, "body has no 'modules' list of objects")
        self._module_lists.put(self._modules_key, self._clock(), modules)
        return list(modules)

    async def list_records(
        self,
        module: str,
        *,
        cvid: str | None = None,
        converted: Converted = None,
        since: datetime | None = None,
        per_page: int = 200,
        fields: frozenset[str] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every record of ``module``, one page per iteration: each record with only ``fields`` (those it
        has), or with all its fields when None."""
        params: dict[str, str] = {}
        if cvid is not None:
            params["cvid"] = cvid
        params.update(_converted_param(converted))
        async for page in self._pages(module, params, since, per_page, credits=LIST_CREDITS, fields=fields):
            yield page

    async def search_records(
        self,
        module: str,
        criteria: str,
        *,
        converted: Converted = None,
        since: datetime | None = None,
        per_page: int = 200,
        fields: frozenset[str] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The records of ``module`` matching ``criteria``, one page per iteration (``fields``: as for
        ``list_records``).

        ``criteria`` is Recruit's criteria text with values already backslash-escaped
        (``recruit_sync.criteria.search``); it is URL-encoded here, like every query parameter.
        """
        params = {"criteria": criteria, **_converted_param(converted)}
        pages = self._pages(f"{module}/search", params, since, per_page, credits=LIST_CREDITS, fields=fields)
        async for page in pages:
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
        self,
        path: str,
        params: dict[str, str],
        since: datetime | None,
        per_page: int,
        *,
        credits: int,
        fields: frozenset[str] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        headers = {"If-Modified-Since": format_since(since)} if since is not None else {}
        page, page_token = 1, None
        while True:
            query = {**params, "per_page": str(per_page)}
            if page_token is not None:
                query["page_token"] = page_token  # CRM refuses `page` past 2,000 records without it
            else:
                query["page"] = str(page)
            call, body = await self._get(path, params=query, headers=headers, credits=credits, fields=fields)
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

    # ---- one call ------------------------------------------------------------------------------

    async def _get(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        credits: int,
        fields: frozenset[str] | None = None,
    ) -> tuple[str, dict[str, Any] | None]:
        """GET ``/recruit/v2/{path}``; returns (call name, JSON body or None for 204). ``fields``: the body
        is a page of records, each read with only these fields."""
        url_path = f"{API_PREFIX}/{path}"
        call = f"GET {url_path}"
        request = self._sender.request(
            "GET", self._base_url + url_path, cost=credits, params=params, headers=headers
        )
        rate_limited = 0
        while True:
            response = await self._sender.send(call, request, auth=self._auth)
            status = response.status_code
            if status == 401:  # the auth flow has already refreshed the token where that can help
                code, message = error_fields(response)
                raise AuthFailed(call, describe(status, code, message), status=status, code=code)
            if status == 429:
                rate_limited += 1
                wait = rate_limit_wait(response.headers, time.time())
                if rate_limited > self._sender.retry.rate_limit_retries or wait > self._sender.retry.max_wait:
                    raise RecruitUnavailable(
                        call, f"rate limited (HTTP 429, wait {wait:.0f}s, {rate_limited} times)", status=429
                    )
                await self._sender.sleep(wait)
                continue
            if status == 204:
                return call, None
            if not 200 <= status < 300:
                code, message = error_fields(response)
                if code == "INVALID_MODULE":  # renamed or removed: the cached list is out of date
                    self._module_lists.drop(self._modules_key)
                raise RecruitError(call, describe(status, code, message), status=status, code=code)
            if fields is not None:
                return call, _page_body(call, response, fields)
            return call, _success_body(call, response)


def _page_body(call: str, response: httpx.Response, fields: frozenset[str]) -> dict[str, Any]:
    """A page of records, each with only ``fields``: parsed by msgspec into those alone (2.5 times
    faster than parsing every field with orjson and dropping most, bench/page_parse.py). A body that
    is not such a page, or whose first item has no id (an error inside HTTP 200 has none), is read in
    full by ``_success_body`` and ``_page_parts``, which say what is wrong; its records are then cut
    down by ``slim``, as the fetcher cuts down any record."""
    try:
        body = _page_decoder(fields).decode(response.content)
    except msgspec.DecodeError:  # (a ValidationError too: an item that is not an object, say)
        pass
    else:
        data = body.get("data")
        if not data or "id" in data[0]:
            return body
    body = _success_body(call, response)
    records, _ = _page_parts(call, body)  # (what is wrong with the page, named as ``_pages`` would)
    body["data"] = slim(records, fields)
    return body


@functools.lru_cache(maxsize=64)
def _page_decoder(fields: frozenset[str]) -> msgspec.json.Decoder[dict[str, Any]]:
    """msgspec's decoder of a page whose records keep ``fields``: a TypedDict of those keys (not
    required; any JSON value), so the others are skipped without being built."""
    typed_dict = cast(Any, TypedDict)  # (a TypedDict made at run time: mypy checks only literal ones)
    record = typed_dict("Record", dict.fromkeys(sorted(fields), Any), total=False)
    page = typed_dict("Page", {"data": list[record], "info": Any}, total=False)  # type: ignore[valid-type]
    return msgspec.json.Decoder(page)


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
        code, message = str_or_none(data[0].get("code")), str_or_none(data[0].get("message"))
        raise RecruitError(call, describe(response.status_code, code, message), status=200, code=code)
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
