"""Fixtures for the fetcher's tests: a fresh token cache per test, fast retries, a recorded sleep."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from recruit_sync.fetcher.recruit_client import RecruitClient, RetryPolicy, clear_token_cache

CLIENT_SECRET = "s3cr3t-client-secret"
REFRESH_TOKEN = "1000.refresh-token-value"
ACCESS_TOKEN = "1000.access-token-value"

FAST = RetryPolicy(attempts=3, backoff_base=0.0001, backoff_max=0.0005, max_wait=0.5)


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


class SleepLog:
    """Stands in for asyncio.sleep: records the waits, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


ClientMaker = Callable[..., RecruitClient]


@pytest.fixture
def make_client(sleeps: SleepLog) -> ClientMaker:
    """A RecruitClient on a handler (MockTransport) or any transport, with fast retries."""

    def make(
        handler: Callable[[httpx.Request], httpx.Response] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_token: str = REFRESH_TOKEN,
        client_id: str = "cid",
        client_secret: str = CLIENT_SECRET,
        base_url: str = "https://recruit.zoho.test",
        accounts_url: str = "https://accounts.zoho.test",
        **kwargs: object,
    ) -> RecruitClient:
        if transport is None:
            assert handler is not None
            transport = httpx.MockTransport(handler)
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("sleep", sleeps)
        return RecruitClient(
            base_url, accounts_url, client_id, client_secret, refresh_token, transport, **kwargs
        )  # type: ignore[arg-type]

    return make
