"""HTTP client benchmark: the fetcher's CPU per page of Recruit records, through httpx's own transport
against the aiohttp transport it uses since docs/adr/0029.

The simulator runs in its own process and serves pages of 200 generated candidates (Recruit's largest
page, about 100 kB); this process asks for them through ``recruit_http.Sender``, as the fetcher does,
on uvloop, with each transport in turn. What is timed is this process's CPU (``time.process_time``) per
page, the best of ``--rounds`` rounds of ``--pages`` pages each, so the simulator's work is not counted.
Run: ``.venv/bin/python bench/http_client.py [--rounds 5] [--pages 100]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import httpx
import orjson
import uvloop

from recruit_sync.fetcher.recruit_http import RetryPolicy, Sender, tls_context

PER_PAGE = 200


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    """The simulator on a free port, with generated candidates; (process, base URL)."""
    command = [sys.executable, "-m", "recruit_sync.sim", "--port", "0", "--generate", "20000"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("simulator listening on "):
            return process, line.split()[-1]
    process.kill()
    raise SystemExit("the simulator did not start")


def access_token(base: str) -> str:
    form = {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "client_secret": "secret",
        "refresh_token": "rt",
    }
    return str(httpx.post(f"{base}/oauth/v2/token", data=form).json()["access_token"])


async def cpu_per_page(
    base: str, token: str, transport: httpx.AsyncBaseTransport | None, args: argparse.Namespace
) -> float:
    async def no_wait(seconds: float) -> None:
        return None

    sender = Sender(transport, timeout=30, retry=RetryPolicy(attempts=1), sleep=no_wait)
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    try:

        async def page(number: int) -> None:
            params = {"page": str(number), "per_page": str(PER_PAGE)}
            request = sender.request(
                "GET", f"{base}/recruit/v2/Candidates", cost=1, params=params, headers=headers
            )
            response = await sender.send("GET /recruit/v2/Candidates", request)
            assert len(orjson.loads(response.content)["data"]) == PER_PAGE

        await page(1)  # (the connection is made)
        best = float("inf")
        for _ in range(args.rounds):
            started = time.process_time()
            for number in range(args.pages):
                await page(1 + number % 50)  # (pages 1-50 of the 20,000 generated)
            best = min(best, (time.process_time() - started) / args.pages)
        return best
    finally:
        await sender.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()
    simulator, base = start_simulator()
    try:
        token = access_token(base)
        httpx_own = uvloop.run(
            cpu_per_page(base, token, httpx.AsyncHTTPTransport(verify=tls_context()), args)
        )
        # (no transport: the Sender's default, what the fetcher uses)
        aiohttp = uvloop.run(cpu_per_page(base, token, None, args))
    finally:
        simulator.terminate()
        simulator.wait()
    print(f"client CPU per page of {PER_PAGE} records (best of {args.rounds} rounds of {args.pages} pages)")
    print(f"  httpx's own transport       {httpx_own * 1e3:6.2f} ms   (baseline)")
    print(f"  aiohttp transport (fetcher) {aiohttp * 1e3:6.2f} ms   ratio {aiohttp / httpx_own:.2f}")


if __name__ == "__main__":
    main()
