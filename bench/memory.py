"""Memory benchmark: each service's peak RSS for a full sync of a small and of a big number of records.

Two stacks, one after the other: a full sync of ``--small`` generated candidates (200,000), then of
``--big`` (1,000,000), each service's peak RSS sampled during each. The small sync is the baseline of
the same run: the growth ratio per service (big / small) is near 1 when memory does not grow with the
number of records (today: every service <= 110 MB, +3 %). ``--quick``: 50,000 and 200,000.
Run: ``make bench-memory`` (``make bench-memory-quick``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    SERVICES,
    RssSampler,
    TimedRun,
    bench_stack,
    bench_sync,
    root_pids,
    run_seconds,
    services_pid,
    timed_run,
)


@dataclass
class Measured:
    run: TimedRun
    peaks: dict[str, int]  # bytes, per service


def full_sync_peaks(records: int) -> Measured:
    """On a stack of its own: a full sync of ``records``, with each service's peak RSS during it."""
    with bench_stack(records) as stack:
        stack.add_connection()
        sync_id = bench_sync(stack, "bench")
        roots = root_pids(stack)
        sampler = RssSampler(services_pid(stack))
        sampler.start()
        run = timed_run(stack, sync_id, roots, full=True, timeout=7200, what=f"full sync of {records:,}")
        peaks = sampler.stop()
    return Measured(run, peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=200_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 and 200,000 (make bench)")
    args = parser.parse_args()
    small, big = (50_000, 200_000) if args.quick else (args.small, args.big)

    low_run, high_run = full_sync_peaks(small), full_sync_peaks(big)
    low_summary, high_summary = low_run.run.summary, high_run.run.summary
    print(f"records            {low_summary['total']:>12,}  {high_summary['total']:>12,}")
    print(f"run time           {run_seconds(low_summary):>12.1f}  {run_seconds(high_summary):>12.1f} s")
    for name in SERVICES:
        if name in low_run.peaks and name in high_run.peaks:
            low, high = low_run.peaks[name] / 2**20, high_run.peaks[name] / 2**20
            print(
                f"peak RSS {name:<10}{low:>12.1f}  {high:>12.1f} MB   growth {high / low:.2f}"
                f" ({(high - low) / low:+.0%}; aim: <= 110 MB, about +3 %)"
            )
    for n, measured in ((small, low_run), (big, high_run)):
        measured.run.print_cpu_seconds(f"during the full sync of {n:,}")


if __name__ == "__main__":
    main()
