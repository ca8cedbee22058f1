"""One request to Recruit or its accounts server: sent until it is answered, metered, its failure named.

Shared by the client's API calls and the OAuth token requests (``recruit_auth``), so both retry alike:
5xx answers and network errors back off a bounded number of times, then ``RecruitUnavailable`` names
the call (docs/adr/0012-recruit-client-resilience.md). Exception texts name the call (method and path)
and Recruit's code and message, never a secret.
"""

from __future__ import annotations

import functools
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from recruit_sync.fetcher.aiohttp_transport import AiohttpTransport

# Request extension: the credits an API call costs. Token requests carry none: they are not API calls.
COST = "recruit_sync.credits"
# Transport errors after the request went out: Recruit has it, whatever became of the answer.
_SENT_BUT_UNANSWERED = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
MAX_DETAIL = 200
_SPENT = httpx.ByteStream(b"")  # what a closed response's stream is replaced by (``Sender._answer``)

Sleep = Callable[[float], Awaitable[None]]


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
class Meter:
    """A client's API calls and credits, counted as Recruit meters them.

    Every answer to an API request is a call; 401, 429 and 5xx answers cost no credits. Answers are
    counted by an httpx response hook, so the ones the auth flow consumes (a 401 before a refresh)
    count too. A request Recruit received but did not answer in time counts as a call with its
    credits: Recruit probably served and billed it, and a count meant to protect a credit budget had
    better err high.
    """

    api_calls: int = 0
    credits: int = 0

    async def answered(self, response: httpx.Response) -> None:
        cost = response.request.extensions.get(COST)
        if cost is None:  # a token request
            return
        self.api_calls += 1
        status = response.status_code
        if status not in (401, 429) and status < 500:
            self.credits += cost

    def unanswered(self, request: httpx.Request, error: httpx.TransportError) -> None:
        cost = request.extensions.get(COST)
        if cost is not None and isinstance(error, _SENT_BUT_UNANSWERED):
            self.api_calls += 1
            self.credits += cost


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one TLS context, made as httpx makes its default (its CA bundle, ``SSL_CERT_FILE``).
    Making one loads the CA bundle, some 30 ms of CPU: when each run's client made its own, twenty small
    syncs started together held the fetcher's event loop for seconds (bench/fairness.py)."""
    return httpx.create_ssl_context()


class Sender:
    """The HTTP side of one client: its connection pool, its meter, and the retries of every request.

    The transport is a seam: production passes nothing (the network, through ``AiohttpTransport``),
    tests pass ``httpx.MockTransport`` and the simulator is reached through ``httpx.ASGITransport``.
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None,
        *,
        timeout: float,
        retry: RetryPolicy,
        sleep: Sleep,
    ) -> None:
        self.meter = Meter()
        self.retry = retry
        self.sleep = sleep
        self._http = httpx.AsyncClient(
            transport=transport or AiohttpTransport(tls_context()),
            timeout=timeout,
            event_hooks={"response": [self.meter.answered]},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def request(
        self,
        method: str,
        url: str,
        *,
        cost: int | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """A request with this client's timeout; ``cost`` (credits) makes it a metered API call."""
        return self._http.build_request(
            method,
            url,
            params=params,
            headers=headers,
            data=data,
            extensions={COST: cost} if cost is not None else None,
        )

    async def send(
        self, call: str, request: httpx.Request, *, auth: httpx.Auth | None = None
    ) -> httpx.Response:
        """Send until the answer is not a 5xx; 5xx and network errors back off, a bounded number of times."""
        failures = 0
        while True:
            try:
                response = await self._answer(request, auth)
            except httpx.TransportError as exc:  # timeouts, refused/reset connections
                problem = type(exc).__name__
            except httpx.RequestError as exc:  # undecodable body, redirect loop: retrying will not help
                raise RecruitError(call, f"{type(exc).__name__} reading the response") from None
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            failures += 1
            if failures >= self.retry.attempts:
                raise RecruitUnavailable(call, f"{problem} after {failures} tries")
            await self.sleep(self.retry.backoff(failures - 1))

    async def _answer(self, request: httpx.Request, auth: httpx.Auth | None) -> httpx.Response:
        # Streamed, so that a failure before the answer (unanswered: metered here) is told apart from
        # one while reading its body (answered: the hook has metered it).
        try:
            response = await self._http.send(request, auth=auth, stream=True)
        except httpx.TransportError as exc:
            self.meter.unanswered(request, exc)
            raise
        try:
            await response.aread()
        finally:
            await response.aclose()
            # httpx 0.28 wraps the stream in one that points back at its response (to set `elapsed` on
            # close): a reference cycle, so every page's body waited for the cyclic GC, some fifty of
            # them at once, and the heap grew through a long run. Closed and read, the stream is spent.
            response.stream = _SPENT
        return response


def error_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    """Recruit's ``code`` and ``message`` from an error body, if it has the documented shape."""
    try:
        body = response.json()
    except ValueError:
        return None, None
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        body = body["data"][0]
    if not isinstance(body, dict):
        return None, None
    return str_or_none(body.get("code")), str_or_none(body.get("message"))


def str_or_none(value: object) -> str | None:
    return str(value)[:MAX_DETAIL] if value is not None else None


def describe(status: int, code: str | None, message: str | None) -> str:
    parts = [f"HTTP {status}"]
    if code:
        parts.append(code)
    if message:
        parts.append(f"({message})")
    return " ".join(parts)
