"""Pipeline benchmark: a full sync of N generated candidates through the running stack.

Prints records per second, the ratio to a plain asyncpg ``INSERT ... ON CONFLICT`` of N comparable
rows measured in the same run (the baseline), and each service's peak RSS. The baseline is measured
twice, before the sync on a quiet database and after it (when PostgreSQL may still be vacuuming the
sync's tables), and the faster of the two counts: the ratio never gains from a slow baseline.
Then the same sync runs again in full with nothing changed (every record ``unchanged``), the usual
case of a scheduled full sync, against the first import's time.
Run: ``make bench`` (``BENCH_N=50000 make bench`` for a quicker look).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    SERVICES,
    RssSampler,
    baseline_upsert_rate,
    bench_stack,
    bench_sync,
    root_pids,
    run_seconds,
    services_pid,
    timed_run,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    n = args.records

    with bench_stack(n, replicas=args.replicas) as stack:
        stack.sim("POST", "/_sim/records/Contacts", [])  # warm the simulator
        stack.add_connection()
        sync_id = bench_sync(stack, "bench")
        baseline_before = baseline_upsert_rate(stack.database_url, n)
        roots = root_pids(stack)
        sampler = RssSampler(services_pid(stack))
        sampler.start()
        first = timed_run(stack, sync_id, roots, full=False, timeout=3600)
        sampler.stop()
        baseline_after = baseline_upsert_rate(stack.database_url, n)
        # the same sync again, in full, with nothing changed: a scheduled full sync's usual case
        resync = timed_run(stack, sync_id, roots, full=True, timeout=3600, what="full re-sync")
    baseline_rate = max(baseline_before, baseline_after)
    summary, seconds = first.summary, run_seconds(first.summary)
    pipeline_rate = summary["total"] / seconds

    print(f"records            {summary['total']:>12,}")
    print(f"run time           {seconds:>12.1f} s   (CLI wall time {first.wall:.1f} s)")
    print(f"pipeline           {pipeline_rate:>12,.0f} records/s")
    print(
        f"baseline upsert    {baseline_rate:>12,.0f} rows/s   (asyncpg INSERT ... ON CONFLICT, same run: the"
        f" faster of {baseline_before:,.0f} before the sync and {baseline_after:,.0f} after it)"
    )
    print(f"ratio              {pipeline_rate / baseline_rate:>12.2f}   (pipeline / baseline; aim >= 0.5)")
    print(f"api calls          {summary['api_calls']:>12,}   credits {summary['credits']:,}")
    for name in SERVICES:
        if name in sampler.peak:
            print(f"peak RSS {name:<10}{sampler.peak[name] / 2**20:>10.1f} MB")
    first.print_cpu_seconds()
    again, again_seconds = resync.summary, run_seconds(resync.summary)
    print(
        f"full re-sync       {again_seconds:>12.1f} s   (nothing changed: {again['unchanged']:,} unchanged,"
        f" {again['total'] / again_seconds:,.0f} records/s;"
        f" {again_seconds / seconds:.2f} x the first import)"
    )
    resync.print_cpu_seconds("during the re-sync")


if __name__ == "__main__":
    main()
