"""RecruitAuth, the httpx.Auth of Recruit calls, on its own: a Sender on a fake accounts server + API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from recruit_sync.fetcher.recruit_auth import Credentials, RecruitAuth, TokenCache
from recruit_sync.fetcher.recruit_http import AuthFailed, RecruitUnavailable, RetryPolicy, Sender

API = "https://recruit.zoho.test/recruit/v2/settings/modules"
CREDENTIALS = Credentials("https://accounts.zoho.test", "cid", "s3cr3t", "1000.refresh")


def refused(code: str) -> httpx.Response:
    return httpx.Response(401, json={"code": code, "details": {}, "message": "refused", "status": "error"})


class Zoho:
    """Numbered tokens from the accounts server (or ``grant_answers``, in turn); API answers in turn."""

    def __init__(self, *api_answers: httpx.Response, grant_answers: tuple[httpx.Response, ...] = ()) -> None:
        self.api_answers = list(api_answers) or [httpx.Response(200, json={"modules": []})]
        self.grant_answers = list(grant_answers)
        self.grants = 0
        self.authorizations: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            self.grants += 1
            if self.grant_answers:
                return self.grant_answers.pop(0)
            return httpx.Response(200, json={"access_token": f"at-{self.grants}", "expires_in": 3600})
        self.authorizations.append(request.headers.get("Authorization"))
        return self.api_answers.pop(0) if len(self.api_answers) > 1 else self.api_answers[0]


class Waits(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


Caller = Callable[..., Any]


@pytest.fixture
def call() -> Caller:
    """``await call(zoho, cache, ...)``: one GET through a new Sender with a RecruitAuth; its response."""

    async def get(
        zoho: Zoho,
        cache: TokenCache,
        *,
        credentials: Credentials = CREDENTIALS,
        retry: RetryPolicy | None = None,
        sleep: Waits | None = None,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> httpx.Response:
        sender = Sender(
            httpx.MockTransport(zoho),
            timeout=5,
            retry=retry or RetryPolicy(attempts=1),
            sleep=Waits() if sleep is None else sleep,
        )
        auth = RecruitAuth(credentials, cache, sender, clock=clock)
        try:
            return await sender.send("GET /api", sender.request("GET", API, cost=1), auth=auth)
        finally:
            await sender.aclose()

    return get


async def test_the_token_is_reused_across_clients_through_the_injected_cache(call: Caller) -> None:
    zoho, shared = Zoho(), TokenCache()
    for _ in range(3):  # three clients (runs), one cache (process)
        assert (await call(zoho, shared)).status_code == 200
    assert zoho.grants == 1
    assert zoho.authorizations == ["Zoho-oauthtoken at-1"] * 3
    await call(zoho, TokenCache())  # another cache knows no token
    assert zoho.grants == 2


async def test_another_refresh_token_is_granted_its_own_token(call: Caller) -> None:
    zoho, shared = Zoho(), TokenCache()
    await call(zoho, shared)
    await call(zoho, shared, credentials=Credentials("https://accounts.zoho.test", "cid", "s3cr3t", "other"))
    assert zoho.grants == 2


async def test_a_stale_token_is_refreshed_once_and_the_request_sent_again(call: Caller) -> None:
    zoho = Zoho(refused("INVALID_TOKEN"), httpx.Response(200, json={"modules": []}))
    response = await call(zoho, TokenCache())
    assert response.status_code == 200
    assert zoho.grants == 2
    assert zoho.authorizations == ["Zoho-oauthtoken at-1", "Zoho-oauthtoken at-2"]
    assert [r.status_code for r in response.history] == [401]


async def test_a_401_after_the_refresh_is_handed_back_and_the_token_forgotten(call: Caller) -> None:
    zoho, cache = Zoho(refused("AUTHENTICATION_FAILED")), TokenCache()
    assert (await call(zoho, cache)).status_code == 401
    assert zoho.grants == 2 and len(zoho.authorizations) == 2  # one refresh, one retry, no more
    assert cache.state(CREDENTIALS).access_token is None  # the next call asks for a new one


async def test_a_401_a_new_token_cannot_help_is_handed_back_without_a_refresh(call: Caller) -> None:
    zoho = Zoho(refused("OAUTH_SCOPE_MISMATCH"))
    assert (await call(zoho, TokenCache())).status_code == 401
    assert zoho.grants == 1 and len(zoho.authorizations) == 1


async def test_a_refused_refresh_is_auth_failed(call: Caller) -> None:
    zoho = Zoho(
        refused("INVALID_TOKEN"),
        grant_answers=(
            httpx.Response(200, json={"access_token": "at-1", "expires_in": 3600}),
            httpx.Response(200, json={"error": "invalid_code"}),  # revoked meanwhile
        ),
    )
    with pytest.raises(AuthFailed) as caught:
        await call(zoho, TokenCache())
    assert str(caught.value) == "POST /oauth/v2/token: token refused: invalid_code"
    assert len(zoho.authorizations) == 1


async def test_grants_beyond_zohos_throttle_give_up_when_the_slot_is_far(call: Caller) -> None:
    zoho, cache = Zoho(refused("INVALID_TOKEN")), TokenCache()
    policy = RetryPolicy(attempts=1, token_grants=2, token_window=600, max_wait=1.0)
    assert (await call(zoho, cache, retry=policy)).status_code == 401  # grants 2 tokens: both refused
    with pytest.raises(RecruitUnavailable, match="2 access tokens requested in the last 600s"):
        await call(zoho, cache, retry=policy)  # a third within 10 minutes would be throttled by Zoho
    assert zoho.grants == 2


async def test_grants_beyond_zohos_throttle_wait_when_the_slot_is_near(call: Caller) -> None:
    now = [0.0]
    zoho = Zoho(refused("INVALID_TOKEN"), refused("INVALID_TOKEN"), httpx.Response(200, json={"modules": []}))
    cache, waits = TokenCache(), Waits()
    policy = RetryPolicy(attempts=1, token_grants=2, token_window=10, max_wait=60)
    await call(zoho, cache, retry=policy, sleep=waits, clock=lambda: now[0])
    now[0] = 4.0
    assert (await call(zoho, cache, retry=policy, sleep=waits, clock=lambda: now[0])).status_code == 200
    assert waits == [6.0]  # until the first grant leaves the window
    assert zoho.grants == 3


async def test_token_requests_are_not_metered(call: Caller) -> None:
    sender = Sender(httpx.MockTransport(Zoho()), timeout=5, retry=RetryPolicy(), sleep=Waits())
    auth = RecruitAuth(CREDENTIALS, TokenCache(), sender, clock=lambda: 0.0)
    await sender.send("GET /api", sender.request("GET", API, cost=1), auth=auth)
    await sender.aclose()
    assert (sender.meter.api_calls, sender.meter.credits) == (1, 1)


def test_the_auth_refuses_a_synchronous_client() -> None:
    sender = Sender(None, timeout=5, retry=RetryPolicy(), sleep=Waits())
    auth = RecruitAuth(CREDENTIALS, TokenCache(), sender, clock=lambda: 0.0)
    with httpx.Client(transport=httpx.MockTransport(Zoho())) as client:
        with pytest.raises(RuntimeError, match=r"httpx\.AsyncClient"):
            client.get(API, auth=auth)


def test_credentials_do_not_show_their_secrets() -> None:
    shown = f"{CREDENTIALS!r} {CREDENTIALS.key}"
    assert "s3cr3t" not in shown and "1000.refresh" not in shown
