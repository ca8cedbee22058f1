"""Measure list pages per second served in-process (httpx over ASGITransport, no sockets);
the client reads each body but does not parse it. Pages 1..150 are requested in turn.

.venv/bin/python sim/scripts/bench_pages.py [PAGES]
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx

from recruit_sync.sim import SimData, create_app
from recruit_sync.sim.generate import GEN_EPOCH
from recruit_sync.sim.timeutil import format_epoch

GRANT = {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "secret", "refresh_token": "rt"}


async def pages_per_second(
    data: SimData, pages: int, params: dict[str, Any], headers: dict[str, str] | None = None
) -> float:
    app = create_app(data)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http:
        token = (await http.post("/oauth/v2/token", data=GRANT)).json()["access_token"]
        auth = {"Authorization": f"Zoho-oauthtoken {token}", **(headers or {})}
        started = time.perf_counter()
        for n in range(pages):
            response = await http.get(
                "/recruit/v2/Candidates", params={**params, "page": n % 150 + 1}, headers=auth
            )
            assert response.status_code == 200 and response.content.startswith(b'{"data":')
        return pages / (time.perf_counter() - started)


async def main(pages: int) -> None:
    explicit = SimData.from_dict(
        {
            "modules": {
                "Candidates": [{"id": str(100000 + i), "Email": f"c{i}@example.com"} for i in range(40_000)]
            }
        }
    )
    generated = SimData.load(None, generate=1_000_000)
    since = {"If-Modified-Since": format_epoch(GEN_EPOCH + 500_000 * 60)}
    cases = [
        ("explicit records (40,000 in the file)", explicit, {}, None),
        ("generated, 1,000,000, default converted=false", generated, {}, None),
        ("generated, 1,000,000, converted=both", generated, {"converted": "both"}, None),
        ("generated, 1,000,000, If-Modified-Since", generated, {}, since),
    ]
    for label, data, params, headers in cases:
        rate = await pages_per_second(data, pages, params, headers)
        print(f"{label:50s} {rate:8.0f} pages/s ({rate * 200:,.0f} records/s)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 150))
