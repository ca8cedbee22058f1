"""The Recruit client against small fake servers (httpx.MockTransport): auth, retries, paging, metering."""

from __future__ import annotations

import asyncio
import gc
import re
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from recruit_sync.fetcher.recruit_client import ModuleCache, format_since, rate_limit_wait
from recruit_sync.fetcher.recruit_http import (
    AuthFailed,
    RecruitError,
    RecruitUnavailable,
    RetryPolicy,
    Sender,
    tls_context,
)

Handler = Callable[[httpx.Request], httpx.Response]


def token_ok(n: int) -> httpx.Response:
    return httpx.Response(200, json={"access_token": f"at-{n}", "expires_in": 3600, "api_domain": "x"})


def error(status: int, code: str, message: str = "msg") -> httpx.Response:
    return httpx.Response(status, json={"code": code, "details": {}, "message": message, "status": "error"})


MODULES = {"modules": [{"api_name": "Candidates", "plural_label": "Candidates"}]}


class FakeRecruit:
    """A fake accounts server + Recruit API: tokens are numbered; API answers come from ``answers``."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.token_calls = 0
        self.token_forms: list[dict[str, str]] = []
        self.api_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            self.token_calls += 1
            self.token_forms.append(dict(httpx.QueryParams(request.content.decode())))
            return token_ok(self.token_calls)
        self.api_requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer


async def collect(pages: Any) -> list[Any]:
    return [item async for item in pages]


# ---- OAuth ---------------------------------------------------------------------------------------


async def test_one_token_serves_many_calls_and_later_clients(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(200, json=MODULES))
    async with make_client(fake) as client:
        for _ in range(5):
            await client.modules(fresh=True)
    async with make_client(fake) as client:  # another run in the same process
        await client.modules(fresh=True)
    assert fake.token_calls == 1
    assert {r.headers["Authorization"] for r in fake.api_requests} == {"Zoho-oauthtoken at-1"}
    assert fake.token_forms[0] == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "s3cr3t-client-secret",
        "refresh_token": "1000.refresh-token-value",
    }


async def test_concurrent_runs_of_one_connection_share_one_grant(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(200, json=MODULES))

    async def slow_accounts_server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            await asyncio.sleep(0.01)  # the others arrive while the first grant is under way
        return fake(request)

    async with make_client(slow_accounts_server) as first, make_client(slow_accounts_server) as second:
        await asyncio.gather(first.modules(fresh=True), second.modules(fresh=True), first.modules(fresh=True))
    assert fake.token_calls == 1


async def test_another_refresh_token_gets_its_own_access_token(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(200, json=MODULES))
    async with make_client(fake) as first, make_client(fake, refresh_token="other") as second:
        await first.modules(fresh=True)
        await second.modules(fresh=True)
    assert fake.token_calls == 2


async def test_token_is_refreshed_shortly_before_it_expires(make_client: Any) -> None:
    now = [1000.0]
    fake = FakeRecruit(httpx.Response(200, json=MODULES))
    async with make_client(fake, clock=lambda: now[0]) as client:
        await client.modules(fresh=True)
        now[0] += 3500  # 100 s before expiry: still good
        await client.modules(fresh=True)
        now[0] += 50  # inside the last minute: refresh
        await client.modules(fresh=True)
    assert fake.token_calls == 2
    assert fake.api_requests[-1].headers["Authorization"] == "Zoho-oauthtoken at-2"


async def test_401_invalid_token_refreshes_once_and_retries(make_client: Any) -> None:
    fake = FakeRecruit(error(401, "INVALID_TOKEN"), httpx.Response(200, json=MODULES))
    async with make_client(fake) as client:
        assert await client.modules() == MODULES["modules"]
        assert (client.api_calls, client.credits) == (2, 1)  # a refused call costs no credits
    assert fake.token_calls == 2
    assert fake.api_requests[1].headers["Authorization"] == "Zoho-oauthtoken at-2"


async def test_401_after_refresh_is_auth_failed(make_client: Any) -> None:
    fake = FakeRecruit(error(401, "AUTHENTICATION_FAILED", "authentication failed"))
    async with make_client(fake) as client:
        with pytest.raises(AuthFailed) as caught:
            await client.modules()
    assert len(fake.api_requests) == 2 and fake.token_calls == 2
    assert str(caught.value) == (
        "GET /recruit/v2/settings/modules: HTTP 401 AUTHENTICATION_FAILED (authentication failed)"
    )


async def test_scope_mismatch_is_auth_failed_without_refresh(make_client: Any) -> None:
    fake = FakeRecruit(error(401, "OAUTH_SCOPE_MISMATCH"))
    async with make_client(fake) as client:
        with pytest.raises(AuthFailed):
            await client.modules()
    assert fake.token_calls == 1


@pytest.mark.parametrize("code", ["invalid_client", "invalid_code"])
async def test_token_endpoint_refusal_is_auth_failed(make_client: Any, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/oauth/v2/token"
        return httpx.Response(200, json={"error": code})  # Zoho answers some refusals with 200

    async with make_client(handler) as client:
        with pytest.raises(AuthFailed, match=f"POST /oauth/v2/token: token refused: {code}"):
            await client.modules()
        assert client.api_calls == 0  # token calls are not metered


async def test_zoho_token_throttle_is_unavailable_not_auth_failed(make_client: Any) -> None:
    throttled = {
        "error": "Access Denied",
        "error_description": "You have made too many requests continuously",
    }
    async with make_client(lambda _: httpx.Response(400, json=throttled)) as client:
        with pytest.raises(RecruitUnavailable, match="throttled"):
            await client.modules()


async def test_local_token_throttle_gives_up_rather_than_exceed_zoho_limit(make_client: Any) -> None:
    fake = FakeRecruit(error(401, "INVALID_TOKEN"))
    policy = RetryPolicy(token_grants=2, token_window=600, max_wait=1.0)
    async with make_client(fake, retry=policy) as client:
        with pytest.raises(AuthFailed):
            await client.modules()  # grants 2 tokens: both refused
        with pytest.raises(RecruitUnavailable, match="2 access tokens requested in the last 600s"):
            await client.modules()  # a third within 10 minutes would be throttled by Zoho
    assert fake.token_calls == 2


async def test_local_token_throttle_waits_when_the_slot_is_near(make_client: Any, sleeps: Any) -> None:
    now = [0.0]
    fake = FakeRecruit(
        error(401, "INVALID_TOKEN"), error(401, "INVALID_TOKEN"), httpx.Response(200, json=MODULES)
    )
    policy = RetryPolicy(token_grants=2, token_window=10, max_wait=60)
    async with make_client(fake, retry=policy, clock=lambda: now[0]) as client:
        with pytest.raises(AuthFailed):
            await client.modules()
        now[0] = 4.0
        await client.modules()
    assert sleeps.waits == [6.0]  # until the first grant leaves the window
    assert fake.token_calls == 3


# ---- retries -------------------------------------------------------------------------------------


async def test_429_waits_as_retry_after_says(make_client: Any, sleeps: Any) -> None:
    limited = httpx.Response(429, headers={"Retry-After": "0.25"}, json={"code": "TOO_MANY_REQUESTS"})
    fake = FakeRecruit(limited, httpx.Response(200, json=MODULES))
    async with make_client(fake) as client:
        assert await client.modules() == MODULES["modules"]
        assert (client.api_calls, client.credits) == (2, 1)
    assert sleeps.waits == [0.25]


async def test_429_waits_until_ratelimit_reset(make_client: Any, sleeps: Any) -> None:
    limited = httpx.Response(429, headers={"X-RATELIMIT-RESET": "0.1"})
    fake = FakeRecruit(limited, httpx.Response(200, json=MODULES))
    async with make_client(fake) as client:
        await client.modules()
    assert sleeps.waits == [0.1]


async def test_429_asking_for_too_long_a_wait_gives_up(make_client: Any, sleeps: Any) -> None:
    fake = FakeRecruit(httpx.Response(429, headers={"Retry-After": "3600"}))
    async with make_client(fake) as client:
        with pytest.raises(RecruitUnavailable, match="GET /recruit/v2/settings/modules: rate limited"):
            await client.modules()
    assert sleeps.waits == []


async def test_5xx_then_success_backs_off(make_client: Any, sleeps: Any) -> None:
    fake = FakeRecruit(
        error(500, "INTERNAL_ERROR"), error(503, "UNAVAILABLE"), httpx.Response(200, json=MODULES)
    )
    async with make_client(fake) as client:
        assert await client.modules() == MODULES["modules"]
        assert (client.api_calls, client.credits) == (3, 1)
    assert len(sleeps.waits) == 2 and all(0 < w <= 0.0005 for w in sleeps.waits)


async def test_5xx_retries_exhausted(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(503))
    async with make_client(fake) as client:
        with pytest.raises(
            RecruitUnavailable, match=r"GET /recruit/v2/settings/modules: HTTP 503 after 3 tries"
        ):
            await client.modules()
    assert len(fake.api_requests) == 3


async def test_connection_errors_retry_then_fail(make_client: Any) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            return token_ok(1)
        calls.append(request)
        raise httpx.ConnectTimeout("timed out", request=request)

    async with make_client(handler) as client:
        with pytest.raises(RecruitUnavailable, match="ConnectTimeout after 3 tries"):
            await client.modules()
    assert len(calls) == 3


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0)
    assert 0.5 <= policy.backoff(0) <= 1.0
    assert 2.0 <= policy.backoff(2) <= 4.0
    assert 2.5 <= policy.backoff(10) <= 5.0


# ---- bodies --------------------------------------------------------------------------------------


async def test_204_is_an_empty_listing(make_client: Any) -> None:
    async with make_client(FakeRecruit(httpx.Response(204))) as client:
        assert await collect(client.list_records("Candidates")) == []
        assert (client.api_calls, client.credits) == (1, 3)


# a listing reads every field, or only those named (parsed by msgspec, with a fallback): alike for errors
SOME_FIELDS = [None, frozenset({"id", "Email"})]


@pytest.mark.parametrize("fields", SOME_FIELDS)
async def test_error_inside_http_200(make_client: Any, fields: frozenset[str] | None) -> None:
    body = {"data": [{"status": "error", "code": "INVALID_DATA", "message": "invalid data", "details": {}}]}
    async with make_client(FakeRecruit(httpx.Response(200, json=body))) as client:
        with pytest.raises(RecruitError) as caught:
            await collect(client.list_records("Candidates", fields=fields))
    assert caught.value.code == "INVALID_DATA"
    assert str(caught.value) == "GET /recruit/v2/Candidates: HTTP 200 INVALID_DATA (invalid data)"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"data":[{"id":"1","Email":"broken@exam', "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"data": {"id": "1"}, "info": {}}', "no 'data' list"),
        (b'{"data": [{"id": "1"}]}', "no 'info' object"),
        (b'{"data": ["1"], "info": {"more_records": false}}', "data[0] is a str"),
        (b'{"data": [{"id": "1"}, 2], "info": {"more_records": false}}', "data[1] is a int"),
    ],
)
@pytest.mark.parametrize("fields", SOME_FIELDS)
async def test_undocumented_body_names_the_call(
    make_client: Any, body: bytes, problem: str, fields: frozenset[str] | None
) -> None:
    answer = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    async with make_client(FakeRecruit(answer)) as client:
        with pytest.raises(RecruitError, match=f"^GET /recruit/v2/Candidates: .*{re.escape(problem)}"):
            await collect(client.list_records("Candidates", fields=fields))


@pytest.mark.parametrize("first_has_id", [True, False])
async def test_records_are_read_with_only_the_fields_asked_for(make_client: Any, first_has_id: bool) -> None:
    """Every record keeps the fields named that it has, values as Recruit sent them, whichever way the
    page was read (a first record without an id is read in full, then cut down alike)."""
    first = {"id": "1", "Email": "a@x.org", "Phone": "1", "Skills": ["py"]}
    if not first_has_id:
        del first["id"]
    records = [first, {"id": "2", "Email": None, "Owner": {"id": "9"}, "$converted": True, "n": 1.5e300}]
    body = {"data": records, "info": {"more_records": False}}
    fields = frozenset({"id", "Email", "$converted", "n", "Absent"})
    async with make_client(FakeRecruit(httpx.Response(200, json=body))) as client:
        pages = await collect(client.list_records("Candidates", fields=fields))
        searched = await collect(client.search_records("Candidates", "(Email:equals:a)", fields=fields))
    expected = [{k: v for k, v in r.items() if k in fields} for r in records]
    assert pages == searched == [expected]
    assert list(pages[0][1]) == ["id", "Email", "$converted", "n"]  # (the order Recruit sent them in)


async def test_4xx_error_names_call_and_code(make_client: Any) -> None:
    fake = FakeRecruit(error(400, "INVALID_MODULE", "the module name given seems to be invalid"))
    async with make_client(fake) as client:
        with pytest.raises(
            RecruitError, match=r"^GET /recruit/v2/Nope: HTTP 400 INVALID_MODULE \(the module"
        ):
            await collect(client.list_records("Nope"))


async def test_secrets_never_appear_in_errors(make_client: Any) -> None:
    secret, refresh = "TOPSECRET-xyz", "REFRESH-abc"
    failures: list[Exception] = []
    answers: list[Handler] = [
        lambda r: httpx.Response(200, json={"error": "invalid_client"}),
        lambda r: httpx.Response(200, json={"error": "weird", "error_description": "nope"}),
        lambda r: httpx.Response(200, content=b"<html>"),
    ]
    for answer in answers:
        async with make_client(answer, client_secret=secret, refresh_token=refresh) as client:
            with pytest.raises(RecruitError) as caught:
                await client.modules()
            failures.append(caught.value)
    fake = FakeRecruit(error(401, "INVALID_TOKEN"))
    async with make_client(fake, client_secret=secret, refresh_token=refresh) as client:
        with pytest.raises(AuthFailed) as caught:
            await client.modules()
        failures.append(caught.value)
    for failure in failures:
        text = f"{failure} {failure!r} {failure.args}"
        for value in (secret, refresh, "at-1", "at-2"):
            assert value not in text


# ---- paging --------------------------------------------------------------------------------------


def paged(total: int, per_page: int, token_after: int | None = None) -> Handler:
    """A module of ``total`` records served page by page (next_page_token after page ``token_after``)."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        page = int(params["page"]) if "page" in params else int(params["page_token"].removeprefix("tok-"))
        start = (page - 1) * per_page
        records = [
            {"id": str(i), "Email": f"c{i}@example.com"} for i in range(start, min(total, start + per_page))
        ]
        info: dict[str, Any] = {"per_page": per_page, "count": len(records), "page": page}
        info["more_records"] = start + per_page < total
        if token_after is not None and page >= token_after and info["more_records"]:
            info["next_page_token"] = f"tok-{page + 1}"
        return httpx.Response(200, json={"data": records, "info": info})

    return answer


async def test_list_records_pages_until_more_records_is_false(make_client: Any) -> None:
    fake = FakeRecruit(paged(450, 200))
    since = datetime(2026, 11, 1, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    async with make_client(fake) as client:
        pages = await collect(client.list_records("Candidates", cvid="5001", converted="both", since=since))
        assert (client.api_calls, client.credits) == (3, 9)
    assert [len(p) for p in pages] == [200, 200, 50]
    assert [r["id"] for p in pages for r in p] == [str(i) for i in range(450)]
    first = fake.api_requests[0]
    assert first.url.path == "/recruit/v2/Candidates"
    assert dict(first.url.params) == {"cvid": "5001", "converted": "both", "per_page": "200", "page": "1"}
    assert "fields" not in first.url.params  # every field, custom ones included
    assert first.headers["If-Modified-Since"] == "2026-11-01T09:30:00+05:30"
    assert [r.url.params["page"] for r in fake.api_requests] == ["1", "2", "3"]


async def test_list_records_follows_next_page_token(make_client: Any) -> None:
    fake = FakeRecruit(paged(5, 2, token_after=1))
    async with make_client(fake) as client:
        pages = await collect(client.list_records("Candidates", per_page=2))
    assert [r["id"] for p in pages for r in p] == ["0", "1", "2", "3", "4"]
    assert dict(fake.api_requests[1].url.params) == {"per_page": "2", "page_token": "tok-2"}
    assert "page" not in fake.api_requests[2].url.params


async def test_converted_bool_is_sent_as_text(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(204))
    async with make_client(fake) as client:
        await collect(client.list_records("Candidates", converted=True))
    assert fake.api_requests[0].url.params["converted"] == "true"


async def test_empty_page_claiming_more_records_ends_the_listing(make_client: Any) -> None:
    body = {"data": [], "info": {"more_records": True, "page": 1}}
    fake = FakeRecruit(httpx.Response(200, json=body))
    async with make_client(fake) as client:
        assert await collect(client.list_records("Candidates")) == []
    assert len(fake.api_requests) == 1


async def test_deleted_records_yields_items_across_pages(make_client: Any) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [{"id": f"{page}{i}", "deleted_time": "2026-11-01T09:00:00+05:30"} for i in range(2)]
        return httpx.Response(200, json={"data": items, "info": {"more_records": page < 2, "page": page}})

    fake = FakeRecruit(answer)
    since = datetime(2026, 10, 1, tzinfo=UTC)
    async with make_client(fake) as client:
        items = await collect(client.deleted_records("Candidates", since=since))
        assert (client.api_calls, client.credits) == (2, 2)
    assert [i["id"] for i in items] == ["10", "11", "20", "21"]
    request = fake.api_requests[0]
    assert request.url.path == "/recruit/v2/Candidates/deleted"
    assert request.url.params["type"] == "all"
    assert request.headers["If-Modified-Since"] == "2026-10-01T00:00:00+00:00"


async def test_base_url_may_carry_the_api_prefix(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(200, json=MODULES))
    async with make_client(fake, base_url="https://recruit.zoho.eu/recruit/v2/") as client:
        await client.modules()
    assert str(fake.api_requests[0].url) == "https://recruit.zoho.eu/recruit/v2/settings/modules"


def test_format_since_treats_naive_as_utc() -> None:
    assert format_since(datetime(2026, 1, 2, 3, 4, 5, 999)) == "2026-01-02T03:04:05+00:00"


async def test_list_records_follows_the_simulators_page_tokens(sim_client: Any, stats_of: Any) -> None:
    client, app = sim_client(generate=1050)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        await http.post("/_sim/paging", json={"page_token_after": 400})  # `page` past 400 is refused
    async with client:
        pages = await collect(client.list_records("Candidates", converted="both"))
        assert (client.api_calls, client.credits) == (6, 18)
    assert [len(p) for p in pages] == [200] * 5 + [50]
    assert len({r["id"] for p in pages for r in p}) == 1050
    assert (await stats_of(app))["calls"] == 6


# ---- the module list cache -----------------------------------------------------------------------


async def test_module_list_is_read_once_per_ttl_per_process(make_client: Any) -> None:
    now = [0.0]
    fake = FakeRecruit(httpx.Response(200, json=MODULES))
    module_lists = ModuleCache(ttl=300)
    async with make_client(fake, clock=lambda: now[0], module_lists=module_lists) as first:
        assert await first.modules() == MODULES["modules"]
        (await first.modules()).clear()  # callers get their own list: the cache is not theirs to edit
    now[0] = 299.0
    async with make_client(fake, clock=lambda: now[0], module_lists=module_lists) as later_run:
        assert await later_run.modules() == MODULES["modules"]
        assert (later_run.api_calls, later_run.credits) == (0, 0)  # nothing sent, nothing spent
    now[0] = 300.0
    async with make_client(fake, clock=lambda: now[0], module_lists=module_lists) as after_ttl:
        await after_ttl.modules()
        assert after_ttl.api_calls == 1
    assert len(fake.api_requests) == 2


async def test_fresh_module_list_bypasses_the_cache(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(200, json=MODULES))
    async with make_client(fake) as client:
        await client.modules()
        await client.modules(fresh=True)
        assert client.api_calls == 2


async def test_module_list_cache_is_per_account_and_credentials(make_client: Any) -> None:
    fake = FakeRecruit(httpx.Response(200, json=MODULES))
    for kwargs in ({}, {"base_url": "https://recruit.zoho.eu"}, {"refresh_token": "another-user"}, {}):
        async with make_client(fake, **kwargs) as client:
            await client.modules()
    assert len(fake.api_requests) == 3


async def test_invalid_module_drops_the_cached_list(make_client: Any) -> None:
    fake = FakeRecruit(
        httpx.Response(200, json=MODULES),
        error(400, "INVALID_MODULE", "the module name given seems to be invalid"),
        httpx.Response(200, json=MODULES),
    )
    async with make_client(fake) as client:
        await client.modules()
        with pytest.raises(RecruitError, match="INVALID_MODULE"):
            await collect(client.list_records("Renamed"))
        await client.modules()  # read again: the module may have been renamed since
        assert client.api_calls == 3


# ---- metering unanswered calls and rate-limit headers --------------------------------------------


@pytest.mark.parametrize(
    ("problem", "metered"),
    [
        (httpx.ReadTimeout, (1, 3)),  # Recruit got the request and probably billed it
        (httpx.ConnectTimeout, (0, 0)),  # it never arrived
    ],
)
async def test_a_call_recruit_received_counts_even_without_an_answer(
    make_client: Any, problem: type[httpx.TransportError], metered: tuple[int, int]
) -> None:
    tries = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            return token_ok(1)
        tries.append(request)
        if len(tries) == 1:
            raise problem("timed out", request=request)
        return httpx.Response(204)

    async with make_client(handler) as client:
        assert await collect(client.list_records("Candidates")) == []
        assert (client.api_calls, client.credits) == (metered[0] + 1, metered[1] + 3)
    assert len(tries) == 2


async def test_a_refused_token_and_the_unanswered_retry_after_it_both_count(make_client: Any) -> None:
    answers: list[Handler] = [
        lambda r: error(401, "INVALID_TOKEN"),  # answered (no credits), consumed by the auth flow
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("timed out", request=r)),  # sent, unanswered
        lambda r: httpx.Response(200, json=MODULES),
    ]
    fake = FakeRecruit(*answers)
    async with make_client(fake) as client:
        assert await client.modules() == MODULES["modules"]
        assert (client.api_calls, client.credits) == (3, 2)
    assert len(fake.api_requests) == 3


async def test_an_answer_whose_body_is_lost_counts_once(make_client: Any) -> None:
    class BrokenBody(httpx.AsyncByteStream):
        async def __aiter__(self) -> Any:
            yield b'{"modules": ['
            raise httpx.ReadError("connection reset")

    fake = FakeRecruit(lambda r: httpx.Response(200, stream=BrokenBody()), httpx.Response(200, json=MODULES))
    async with make_client(fake) as client:
        assert await client.modules() == MODULES["modules"]
        assert (client.api_calls, client.credits) == (2, 2)  # both answered and billed; none twice


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7", "X-RATELIMIT-RESET": "1800000099"}, 7.0),  # Retry-After first
        ({"X-RATELIMIT-RESET": "1800000012"}, 12.0),  # epoch seconds, as the simulator sends
        ({"X-RATELIMIT-RESET": "1800000012500"}, 12.5),  # epoch milliseconds
        ({"X-RATELIMIT-RESET": "3"}, 3.0),  # seconds to wait
        ({"X-RATELIMIT-RESET": "1799999990"}, 0.0),  # a moment already past
        ({"Retry-After": "soon", "X-RATELIMIT-RESET": "2"}, 2.0),  # unreadable: the next header
        ({}, 1.0),
    ],
)
def testrate_limit_wait_reads_the_headers(headers: dict[str, str], wait: float) -> None:
    assert rate_limit_wait(httpx.Headers(headers), now=1_800_000_000.0) == pytest.approx(wait)


def test_every_client_shares_the_process_tls_context(sleeps: Any) -> None:
    """Making a TLS context loads the CA bundle (some 30 ms): one per process, not one per run's client."""
    first = Sender(None, timeout=1, retry=RetryPolicy(), sleep=sleeps)
    second = Sender(None, timeout=1, retry=RetryPolicy(), sleep=sleeps)
    contexts = {id(sender._http._transport._tls) for sender in (first, second)}
    assert contexts == {id(tls_context())}


async def test_a_page_read_is_freed_at_once_not_left_to_the_cyclic_gc(sleeps: Any) -> None:
    """httpx ties a response to its stream in a reference cycle; a page's body must not wait for the
    cyclic GC (fifty of them waited at once, and the fetcher's heap grew through a long run)."""
    body = b'{"data": [], "info": {"more_records": false}}'
    sender = Sender(
        httpx.MockTransport(lambda r: httpx.Response(200, content=body)),
        timeout=5,
        retry=RetryPolicy(attempts=1),
        sleep=sleeps,
    )
    gc.disable()
    try:
        response = await sender.send("GET /api", sender.request("GET", "https://recruit.test/api", cost=1))
        assert response.content == body  # still readable after the stream is spent
        freed = weakref.ref(response)
        del response
        assert freed() is None
    finally:
        gc.enable()
        await sender.aclose()
