"""Incremental benchmark: a run that finds nothing changed, on a big store.

A full sync of ``--records`` generated candidates (1,000,000; ``--quick``: 100,000) fills the store;
then the sync runs again, incrementally (not ``--full``), with nothing changed in Recruit. Prints that
run's time (from its summary, and the CLI's wall time) and its Recruit api_calls (goal: < 2 s with
2 calls: an empty listing since the last run and an empty deleted-records pass). The baseline, from the
same run: the same no-change incremental on a stack whose store holds 1,000 contacts, and the ratio.
Run: ``make bench-incremental`` (``make bench-incremental-quick``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    TimedRun,
    bench_stack,
    bench_sync,
    require_success,
    root_pids,
    run_seconds,
    timed_run,
)

BASELINE_RECORDS = 1_064  # about 1,000 contacts: 94 % of generated records are importable and new


@dataclass
class Measured:
    full: dict[str, Any]  # the summary of the full sync that filled the store
    incremental: TimedRun  # the no-change run after it


def no_change_run(records: int) -> Measured:
    """On a stack of its own: a full sync of ``records``, then a run of the same sync, nothing changed."""
    with bench_stack(records) as stack:
        stack.add_connection()
        sync_id = bench_sync(stack, "bench")
        full = stack.run_sync(sync_id, full=True, timeout=7200)
        require_success(stack, full, f"full sync of {records:,}")
        roots = root_pids(stack)
        run = timed_run(stack, sync_id, roots, full=False, timeout=600, what="no-change incremental run")
    return Measured(full, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="a store of 100,000 (make bench)")
    args = parser.parse_args()
    records = 100_000 if args.quick else args.records

    small, big = no_change_run(BASELINE_RECORDS), no_change_run(records)
    small_run, big_run = small.incremental.summary, big.incremental.summary
    small_time, big_time = run_seconds(small_run), run_seconds(big_run)
    print(
        f"store              {big.full['new']:>12,} contacts   (full sync of {big.full['total']:,} records)"
    )
    wall = big.incremental.wall
    print(f"no-change run      {big_time:>12.2f} s   (CLI wall time {wall:.1f} s; goal < 2 s)")
    calls, seen = big_run["api_calls"], big_run["total"]
    print(f"api calls          {calls:>12}   (goal: 2; records seen {seen:,})")
    print(
        f"baseline           {small_time:>12.2f} s   (the same on a store of {small.full['new']:,} contacts,"
        f" CLI wall time {small.incremental.wall:.1f} s, {small_run['api_calls']} api calls)"
    )
    print(f"ratio              {big_time / small_time:>12.2f}   (big store / small store; aim: about 1)")
    big.incremental.print_cpu_seconds(f"during the no-change run on {records:,}")
    if big_run["total"] or small_run["total"]:
        sys.exit("a no-change run saw records: the benchmark's premise (nothing changed) does not hold")


if __name__ == "__main__":
    main()
