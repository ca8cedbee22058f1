"""Fixtures for the fetcher's tests: caches of their own per test, fast retries, a recorded sleep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from recruit_sync.contracts.events import ConnectionSnapshot, ImportSettings, SyncDue, Trigger
from recruit_sync.contracts.sync_spec import Options, SelectAll
from recruit_sync.fetcher.recruit_auth import Credentials, TokenCache
from recruit_sync.fetcher.recruit_client import ModuleCache, RecruitClient
from recruit_sync.fetcher.recruit_http import RetryPolicy
from recruit_sync.runtime.crypto import encrypt

CLIENT_SECRET = "s3cr3t-client-secret"
REFRESH_TOKEN = "1000.refresh-token-value"

FAST = RetryPolicy(attempts=3, backoff_base=0.0001, backoff_max=0.0005, max_wait=0.5)


class SleepLog:
    """Stands in for asyncio.sleep: records the waits, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
def tokens() -> TokenCache:
    """The test's token cache: what a process would share between its clients."""
    return TokenCache()


ClientMaker = Callable[..., RecruitClient]


@pytest.fixture
def make_client(sleeps: SleepLog, tokens: TokenCache) -> ClientMaker:
    """A RecruitClient on a handler (MockTransport) or any transport, with fast retries; the clients of
    one test share its token cache and module-list cache, as the clients of one process do."""
    module_lists = ModuleCache()

    def make(
        handler: Callable[[httpx.Request], httpx.Response] | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_token: str = REFRESH_TOKEN,
        client_id: str = "cid",
        client_secret: str = CLIENT_SECRET,
        base_url: str = "https://recruit.zoho.test",
        accounts_url: str = "https://accounts.zoho.test",
        **kwargs: Any,
    ) -> RecruitClient:
        if transport is None:
            assert handler is not None
            transport = httpx.MockTransport(handler)
        kwargs.setdefault("retry", FAST)
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("tokens", tokens)
        kwargs.setdefault("module_lists", module_lists)
        credentials = Credentials(accounts_url, client_id, client_secret, refresh_token)
        return RecruitClient(base_url, credentials, transport, **kwargs)

    return make


# ---- the simulator and SyncDue messages ----------------------------------------------------------

SimMaker = Callable[..., tuple[RecruitClient, Any]]


@pytest.fixture
def sim_client(make_client: ClientMaker) -> SimMaker:
    """(client, sim app) for a simulator seeded with ``document`` plus ``generate`` candidates."""
    from recruit_sync.sim.app import create_app
    from recruit_sync.sim.data import SimData

    def make(
        document: dict[str, Any] | None = None, generate: int = 0, **kwargs: Any
    ) -> tuple[RecruitClient, Any]:
        app = create_app(SimData.from_dict(document or {}, generate=generate))
        client = make_client(
            transport=httpx.ASGITransport(app=app),
            # a new simulator knows neither an earlier one's tokens nor its modules
            tokens=TokenCache(),
            module_lists=ModuleCache(),
            base_url="http://sim",
            accounts_url="http://sim",
            client_id="cid",
            client_secret="secret",
            refresh_token="rt",
            **kwargs,
        )
        return client, app

    return make


async def sim_stats(app: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as http:
        stats: dict[str, Any] = (await http.get("/_sim/stats")).json()
        return stats


@pytest.fixture
def stats_of() -> Callable[[Any], Any]:
    return sim_stats


def sync_due(**overrides: Any) -> SyncDue:
    fields: dict[str, Any] = {
        "run_id": "run-1",
        "sync_id": "sync-1",
        "sync_name": "Everyone",
        "trigger": Trigger.MANUAL,
        "due_at": datetime(2026, 11, 1, tzinfo=UTC),
        "module": "Candidates",
        "selection": SelectAll(),
        "connection": ConnectionSnapshot(
            connection_id="conn-1",
            name="acme",
            base_url="http://sim",
            accounts_url="http://sim",
            client_id="cid",
            client_secret_enc=encrypt("secret"),
            refresh_token_enc=encrypt("rt"),
        ),
        "settings": ImportSettings(list_name="Everyone", options=Options(), mapping=[], settings_version=1),
        "batch_size": 200,
    }
    fields.update(overrides)
    return SyncDue(**fields)


@pytest.fixture
def make_due() -> Callable[..., SyncDue]:
    return sync_due
