"""In-process simulator clients for the tests (httpx over ASGITransport, nothing listens)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from recruit_sync.sim import SimData, create_app

GRANT = {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "secret", "refresh_token": "rt"}
NOW = 1_795_000_000.0  # 2026-11-18T16:36:40+05:30, after every demo timestamp


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Sim:
    app: Starlette
    http: httpx.AsyncClient
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self.token}"}

    async def get(
        self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.get(path, params=params, headers={**self.auth, **(headers or {})})

    async def all_ids(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> list[str]:
        """Page through a listing the way the fetcher does; the ids in order."""
        ids: list[str] = []
        page = 1
        while True:
            response = await self.get(path, {**(params or {}), "page": page}, headers)
            if response.status_code == 204:
                return ids
            assert response.status_code == 200, response.text
            body = response.json()
            ids += [r["id"] for r in body["data"]]
            if not body["info"]["more_records"]:
                return ids
            page += 1

    async def stats(self) -> dict[str, Any]:
        return (await self.http.get("/_sim/stats")).json()


MakeSim = Callable[..., Awaitable[Sim]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_sim(clock: Clock) -> AsyncIterator[MakeSim]:
    clients: list[httpx.AsyncClient] = []

    async def make(
        document: dict[str, Any] | None = None, *, generate: int = 0, data: SimData | None = None
    ) -> Sim:
        data = data or SimData.from_dict(document or {}, generate=generate)
        app = create_app(data, clock=clock)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim")
        clients.append(http)
        response = await http.post("/oauth/v2/token", data=GRANT)
        assert response.status_code == 200, response.text
        return Sim(app, http, response.json()["access_token"])

    yield make
    for http in clients:
        await http.aclose()


def candidate(record_id: str | int, **fields: Any) -> dict[str, Any]:
    """A Candidates record with the usual fields; keyword arguments override or add."""
    record: dict[str, Any] = {
        "id": str(record_id),
        "First_Name": "Ada",
        "Last_Name": f"Lovelace{record_id}",
        "Email": f"ada{record_id}@example.com",
        "Email_Opt_Out": False,
        "$converted": False,
        "Created_Time": "2026-10-01T10:00:00+05:30",
        "Updated_On": "2026-10-02T10:00:00+05:30",
    }
    record.update(fields)
    return record
