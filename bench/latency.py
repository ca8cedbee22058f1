"""Latency benchmark: a full sync while Recruit answers slowly.

The simulator delays every Recruit call by ``--delay-ms`` (300 by default, through its control API); a
full sync of ``--records`` generated candidates (20,000) then cannot take less than its calls one after
another at that delay: ``api calls x delay`` is the baseline, from the same run. Prints the run time,
the calls, the baseline and their ratio (about 1.0 when fetching, importing and recording overlap the
waiting; the work after the last call shows as the excess). Run: ``make bench-latency``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    bench_stack,
    bench_sync,
    root_pids,
    run_seconds,
    timed_run,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--delay-ms", type=int, default=300, help="the delay of every Recruit call")
    args = parser.parse_args()
    delay = args.delay_ms / 1000

    with bench_stack(args.records) as stack:
        stack.add_connection()
        sync_id = bench_sync(stack, "bench")
        stack.sim("POST", "/_sim/faults", {"delay": delay, "count": 1_000_000})
        before = stack.sim("GET", "/_sim/stats")["calls"]
        roots = root_pids(stack)
        run = timed_run(stack, sync_id, roots, full=True, timeout=3600)
        sim_calls = stack.sim("GET", "/_sim/stats")["calls"] - before
    summary, wall = run.summary, run.wall

    seconds = run_seconds(summary)
    calls = summary["api_calls"]
    baseline = calls * delay
    print(f"records            {summary['total']:>12,}")
    print(f"delay              {args.delay_ms:>12} ms a Recruit call")
    print(f"run time           {seconds:>12.1f} s   (CLI wall time {wall:.1f} s)")
    print(f"api calls          {calls:>12,}   (the simulator counted {sim_calls:,})")
    print(f"calls x delay      {baseline:>12.1f} s   (baseline: the calls one after another, same run)")
    print(f"ratio              {seconds / baseline:>12.2f}   (run time / baseline; about 1.02 today)")
    run.print_cpu_seconds()


if __name__ == "__main__":
    main()
