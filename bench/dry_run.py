"""Dry-run benchmark: ``replay RUN_ID --dry-run`` of a full sync of N generated candidates, against the
run itself (the baseline, measured in the same run), and a ``sync preview`` of the same sync.

Prints the run's time, the dry run's (and their ratio), that the dry run reproduced the run, the time of
a preview of the same records as a new sync, and the services' peak RSS during the dry run.
Run: ``make bench-dry-run`` (``BENCH_N=50000`` for a quicker look).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RssSampler
from tests.e2e.stack import Stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    n = parser.parse_args().records

    with tempfile.TemporaryDirectory() as tmp, Stack(Path(tmp), sim_generate=n) as stack:
        stack.add_connection()
        sync_id = stack.create_sync(
            {"name": "bench", "connection": "acme-recruit", "list": "bench",
             "mapping": [{"from": "Current_Employer", "to": "company"}]}
        )  # fmt: skip
        summary = stack.run_sync(sync_id, timeout=3600)
        if summary["state"] != "succeeded":
            sys.exit(f"run failed: {summary.get('error')}\n{stack.logs()[-4000:]}")
        started = datetime.fromisoformat(summary["started_at"])
        run_seconds = (datetime.fromisoformat(summary["finished_at"]) - started).total_seconds()

        services = next(p for p in stack.procs if "services" in " ".join(map(str, p.args)))
        sampler = RssSampler(services.pid)
        sampler.start()
        began = time.perf_counter()
        dry = stack.json("replay", summary["run_id"], "--dry-run", timeout=3600)
        dry_seconds = time.perf_counter() - began
        sampler.stop()

        # a preview of the same selection as a new sync would run it: every record fetched and decided
        spec = Path(tmp) / "preview.json"
        spec.write_text(json.dumps({"name": "bench preview", "connection": "acme-recruit", "list": "other"}))
        began = time.perf_counter()
        preview = stack.json("sync", "preview", "--file", str(spec), timeout=3600)
        preview_seconds = time.perf_counter() - began
        stack.check_dry_runs = False  # done above, once

    print(f"records            {summary['total']:>12,}")
    print(f"run time           {run_seconds:>12.1f} s   (baseline)")
    print(f"dry run            {dry_seconds:>12.1f} s   (CLI wall time: journal read, re-decide, compare)")
    print(f"ratio              {dry_seconds / run_seconds:>12.2f}   (dry run / run)")
    print(f"differences        {dry['differences_total']:>12,}   (0: the run reproduces)")
    previewed = preview["summary"]["total"]
    print(f"preview            {preview_seconds:>12.1f} s   ({previewed:,} records, nothing written)")
    print(f"ratio              {preview_seconds / run_seconds:>12.2f}   (preview / run)")
    for name, peak in sorted(sampler.peak.items()):
        print(f"peak RSS {name:<10}{peak / 2**20:>10.1f} MB   (during the dry run)")
    if dry["differences_total"]:
        sys.exit("the dry run did not reproduce the run")


if __name__ == "__main__":
    main()
