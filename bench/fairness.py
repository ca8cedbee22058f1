"""Fairness benchmark: twenty small syncs beside a big backfill.

Twenty syncs of 1,000 records each, each on its own connection, are started together (twenty threads,
each doing what ``sync run --full --wait`` does through the HTTP API; ``--cli``: each running that
command, but twenty CLI start-ups at once on two cores spread the starts over many seconds): the time
from the start until the slowest one has finished, alone (the baseline, same run), then the same
twenty (fresh records, see below) started 1 s after a full sync of ``--backfill`` generated candidates
has started. Prints both, their ratio (goal <= 1.5), and the backfill's records/s alone (a stack of
its own, before) and while it shares the services with the small syncs, with their ratio too.

Where the records come from: one simulator serves all. The backfill is the generated Candidates
(``--generate``). The small syncs read the Contacts module, which holds no generated records: its data
file holds 40,000 Contacts with valid, distinct addresses and 40 custom views of 1,000 of them each;
sync k of the baseline round selects view 7001+k, sync k of the backfill round view 7101+k (fresh
records, so both rounds do the same work: 1,000 new contacts each). Each sync must import exactly 1,000
records (summary ``total`` 1,000, nothing ignored), else the benchmark exits non-zero.

Run: ``make bench-fairness`` (backfill 300,000), ``make bench-fairness-quick`` (100,000).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    bench_stack,
    bench_sync,
    cpu_seconds_by_component,
    print_cpu_seconds,
    require_success,
    root_pids,
    run_seconds,
)
from tests.e2e.stack import Stack

SMALL_SYNCS = 20
SMALL_RECORDS = 1_000
ROUNDS = ("a", "b")  # a: the small syncs alone; b: beside the backfill
VIEW_BASE = {"a": 7001, "b": 7101}
STAMP = "2026-10-01T10:00:00+05:30"


def small_data() -> dict[str, Any]:
    """The simulator's data file: per round and small sync, 1,000 Contacts and a custom view of them."""
    contacts: list[dict[str, Any]] = []
    views: list[dict[str, Any]] = []
    next_id = 300_001
    for round_ in ROUNDS:
        for k in range(SMALL_SYNCS):
            ids = []
            for i in range(SMALL_RECORDS):
                record_id = str(next_id)
                next_id += 1
                ids.append(record_id)
                contacts.append(
                    {"id": record_id, "First_Name": f"Ann{i}", "Last_Name": f"Small{k:02d}",
                     "Email": f"ann.small{i}.{round_}{k:02d}@works{k:02d}-bench.com",
                     "Email_Opt_Out": False, "Current_Employer": f"Works {k:02d}",
                     "Created_Time": STAMP, "Modified_Time": STAMP}
                )  # fmt: skip
            views.append(
                {
                    "id": str(VIEW_BASE[round_] + k),
                    "display_value": f"bench {round_}{k:02d}",
                    "record_ids": ids,
                }
            )
    return {"modules": {"Contacts": contacts}, "custom_views": {"Contacts": views}}


def connection_name(k: int) -> str:
    return f"small-{k:02d}"


def small_sync(stack: Stack, round_: str, k: int) -> str:
    """Small sync ``k`` of a round: its own connection, its own custom view of 1,000 Contacts."""
    selection = {"kind": "custom_view", "cvid": str(VIEW_BASE[round_] + k)}
    return bench_sync(
        stack, f"small {round_}{k:02d}", connection_name(k), module="Contacts", selection=selection
    )


def wait_until_running(stack: Stack, sync_id: str, timeout: float = 120) -> None:
    """Block until the sync has a run in state ``running`` (through the HTTP API: no CLI start-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(run["state"] == "running" for run in stack.api("GET", f"/syncs/{sync_id}/runs")):
            return
        time.sleep(0.05)
    sys.exit(f"the backfill did not start within {timeout:.0f} s\n{stack.logs()[-4000:]}")


def run_via_api(stack: Stack, sync_id: str, timeout: float = 1800) -> dict[str, Any]:
    """What ``sync run --full --wait`` does, without a CLI process: start the run through the HTTP API,
    then poll ``GET /runs/{id}`` until it has ended; its summary."""
    run_id = stack.api("POST", f"/syncs/{sync_id}/runs?full=true")["run_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            summary: dict[str, Any] = stack.api("GET", f"/runs/{run_id}")
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code not in (404, 503):  # history has not heard of it yet
                raise
        else:
            if summary["state"] != "running":
                return summary
        time.sleep(1.0)  # twenty pollers: often enough (finished_at is what is measured), not a load
    sys.exit(f"run {run_id} of sync {sync_id} has not ended after {timeout:.0f} s")


def run_small_round(
    stack: Stack, sync_ids: list[str], *, cli: bool
) -> tuple[float, float, list[dict[str, Any]]]:
    """Start every sync at once (a thread each: ``sync run --full --wait`` with ``cli``, else the same
    through the HTTP API); return the time from the start until the last one finished (its summary's
    ``finished_at``), the longest run time in the summaries, and the summaries. Exits non-zero unless
    each imported exactly 1,000 records."""
    barrier = threading.Barrier(len(sync_ids) + 1)

    def one(sync_id: str) -> dict[str, Any]:
        barrier.wait()
        return stack.run_sync(sync_id, full=True, timeout=1800) if cli else run_via_api(stack, sync_id)

    with ThreadPoolExecutor(max_workers=len(sync_ids)) as pool:
        futures = [pool.submit(one, sync_id) for sync_id in sync_ids]
        barrier.wait()
        started = datetime.now(UTC)
        summaries = [f.result() for f in futures]
    problems = []
    for n, summary in enumerate(summaries):
        require_success(stack, summary, f"small sync {n + 1}")
        if summary["total"] != SMALL_RECORDS or summary["ignored"] != 0:
            problems.append(f"small sync {n + 1}: total {summary['total']}, ignored {summary['ignored']}")
    if problems:
        sys.exit("small syncs did not import exactly 1,000 records each:\n" + "\n".join(problems))
    slowest = max((datetime.fromisoformat(s["finished_at"]) - started).total_seconds() for s in summaries)
    longest_run = max(run_seconds(s) for s in summaries)
    return slowest, longest_run, summaries


def backfill_alone(records: int) -> dict[str, Any]:
    """The backfill on a stack of its own: the full sync with nothing beside it."""
    with bench_stack(records, sim_data=small_data()) as stack:
        stack.add_connection("backfill")
        sync_id = bench_sync(stack, "backfill", connection="backfill")
        summary = stack.run_sync(sync_id, full=True, timeout=7200)
        require_success(stack, summary, "backfill (alone)")
        return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backfill", type=int, default=300_000, help="generated candidates of the backfill")
    parser.add_argument("--quick", action="store_true", help="a backfill of 100,000 (make bench)")
    parser.add_argument(
        "--cli",
        action="store_true",
        help="start each small sync with its own 'sync run --wait' process (twenty CLI start-ups at once on"
        " this machine spread the starts over seconds); default: the same calls through the HTTP API",
    )
    args = parser.parse_args()
    records = 100_000 if args.quick else args.backfill

    alone = backfill_alone(records)
    with bench_stack(records, sim_data=small_data()) as stack:
        stack.add_connection("backfill")
        for k in range(SMALL_SYNCS):
            stack.add_connection(connection_name(k))
        backfill_id = bench_sync(stack, "backfill", connection="backfill")
        small_ids = {round_: [small_sync(stack, round_, k) for k in range(SMALL_SYNCS)] for round_ in ROUNDS}
        roots = root_pids(stack)

        cpu_a = cpu_seconds_by_component(roots)
        wall_a = time.perf_counter()
        slowest_alone, longest_alone, _ = run_small_round(stack, small_ids["a"], cli=args.cli)
        wall_a = time.perf_counter() - wall_a
        cpu_a_after = cpu_seconds_by_component(roots)

        cpu_b = cpu_seconds_by_component(roots)
        wall_b = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1) as pool:
            backfill = pool.submit(stack.run_sync, backfill_id, full=True, timeout=7200)
            wait_until_running(stack, backfill_id)
            time.sleep(1.0)
            slowest_shared, longest_shared, _ = run_small_round(stack, small_ids["b"], cli=args.cli)
            small_done = time.perf_counter() - wall_b
            shared = backfill.result()
        wall_b = time.perf_counter() - wall_b
        cpu_b_after = cpu_seconds_by_component(roots)
        require_success(stack, shared, "backfill (shared)")

    rate_alone = alone["total"] / run_seconds(alone)
    rate_shared = shared["total"] / run_seconds(shared)
    print(
        f"small syncs        {SMALL_SYNCS:>12}   x {SMALL_RECORDS:,} records each, own connection, together"
    )
    longest = f"longest run time {longest_alone:.1f} s alone, {longest_shared:.1f} s beside"
    print(f"slowest alone      {slowest_alone:>12.1f} s   (baseline, all twenty done)")
    print(f"slowest beside     {slowest_shared:>12.1f} s   (started 1 s into the backfill; {longest})")
    print(f"ratio              {slowest_shared / slowest_alone:>12.2f}   (beside / alone; goal <= 1.5)")
    print(f"backfill records   {shared['total']:>12,}")
    alone_seconds = run_seconds(alone)
    print(f"backfill alone     {rate_alone:>12,.0f} records/s   (own stack, run time {alone_seconds:.1f} s)")
    print(f"backfill sharing   {rate_shared:>12,.0f} records/s   (run time {run_seconds(shared):.1f} s)")
    print(
        f"ratio              {rate_shared / rate_alone:>12.2f}   (sharing / alone; aim: about 1, full speed)"
    )
    print(f"small syncs done   {small_done:>12.1f} s   after the backfill was started")
    print_cpu_seconds(cpu_a, cpu_a_after, wall_a, "for the small syncs alone")
    print_cpu_seconds(cpu_b, cpu_b_after, wall_b, "for the backfill beside the small syncs")


if __name__ == "__main__":
    main()
