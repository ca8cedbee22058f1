"""Pipeline benchmark: a full sync of N generated candidates through the running stack.

Prints records per second, the ratio to a plain asyncpg ``INSERT ... ON CONFLICT`` of N comparable
rows measured in the same run (the baseline), and each service's peak RSS. Run: ``make bench``
(``BENCH_N=50000 make bench`` for a quicker look).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.stack import Stack

SERVICES = ("scheduler", "fetcher", "importer", "history", "api")


async def baseline_upsert(database_url: str, n: int, batch: int = 1000) -> float:
    """Rows/s of the naive loader: INSERT ... SELECT unnest(...) ON CONFLICT, 1,000 rows a statement."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            # a logged table like the importer's own (a TEMP table skips the WAL and flatters the baseline)
            "CREATE TABLE public.bench_contacts (id bigserial PRIMARY KEY, email text NOT NULL,"
            " first_name text, last_name text, fields jsonb, updated_at timestamptz DEFAULT now())"
        )
        await conn.execute("CREATE UNIQUE INDEX ON bench_contacts (lower(email))")
        started = time.perf_counter()
        for lo in range(0, n, batch):
            ids = range(lo, min(lo + batch, n))
            await conn.execute(
                "INSERT INTO bench_contacts (email, first_name, last_name, fields)"
                " SELECT e, f, l, x::jsonb"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(e, f, l, x)"
                " ON CONFLICT (lower(email)) DO UPDATE SET first_name = EXCLUDED.first_name,"
                " last_name = EXCLUDED.last_name, fields = EXCLUDED.fields, updated_at = now()",
                [f"person.{i}@example{i % 97}.com" for i in ids],
                [f"First{i}" for i in ids],
                [f"Last{i}" for i in ids],
                ['{"company": "Zylker"}' for _ in ids],
            )
        return n / (time.perf_counter() - started)
    finally:
        await conn.execute("DROP TABLE IF EXISTS public.bench_contacts")
        await conn.close()


def cpu_seconds_by_component(root_pids: list[int]) -> dict[str, float]:
    """CPU seconds used so far by each service, the simulator, PostgreSQL and RabbitMQ."""
    totals: dict[str, float] = {}
    ours = {p.pid: p for root in root_pids for p in psutil.Process(root).children(recursive=True)}
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            name = proc.info["name"] or ""
            if proc.pid in ours or proc.pid in root_pids:
                label = next(
                    (s for s in SERVICES if f"recruit_sync.{s}" in cmd),
                    "sim" if " sim " in f"{cmd} " else None,
                )
            elif name.startswith("postgres"):
                label = "postgres"
            elif name.startswith("beam"):
                label = "rabbitmq"
            else:
                continue
            if label is None:
                continue
            times = proc.cpu_times()
            totals[label] = totals.get(label, 0.0) + times.user + times.system
        except psutil.Error:
            continue
    return totals


class RssSampler(threading.Thread):
    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.peak: dict[str, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                children = self.root.children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                try:
                    cmd = " ".join(child.cmdline())
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                for name in SERVICES:
                    if f"recruit_sync.{name}" in cmd:
                        self.peak[name] = max(self.peak.get(name, 0), rss)
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    n = args.records

    with (
        tempfile.TemporaryDirectory() as tmp,
        Stack(Path(tmp), sim_generate=n, replicas=args.replicas) as stack,
    ):
        stack.sim("POST", "/_sim/records/Contacts", [])  # warm the simulator
        stack.add_connection()
        sync_id = stack.create_sync(
            {"name": "bench", "connection": "acme-recruit", "list": "bench",
             "mapping": [{"from": "Current_Employer", "to": "company"}]}
        )  # fmt: skip
        services_proc = next(p for p in stack.procs if "services" in " ".join(map(str, p.args)))
        roots = [p.pid for p in stack.procs]
        sampler = RssSampler(services_proc.pid)
        sampler.start()
        cpu_before = cpu_seconds_by_component(roots)
        wall = time.perf_counter()
        summary = stack.run_sync(sync_id, timeout=3600)
        wall = time.perf_counter() - wall
        cpu_after = cpu_seconds_by_component(roots)
        sampler.stopped.set()
        sampler.join()
        if summary["state"] != "succeeded":
            sys.exit(f"run failed: {summary.get('error')}\n{stack.logs()[-4000:]}")
        started = datetime.fromisoformat(summary["started_at"])
        finished = datetime.fromisoformat(summary["finished_at"])
        run_seconds = (finished - started).total_seconds()
        pipeline_rate = summary["total"] / run_seconds
        baseline_rate = asyncio.run(baseline_upsert(stack.database_url, n))

    print(f"records            {summary['total']:>12,}")
    print(f"run time           {run_seconds:>12.1f} s   (CLI wall time {wall:.1f} s)")
    print(f"pipeline           {pipeline_rate:>12,.0f} records/s")
    print(f"baseline upsert    {baseline_rate:>12,.0f} rows/s   (asyncpg INSERT ... ON CONFLICT, same run)")
    print(f"ratio              {pipeline_rate / baseline_rate:>12.2f}   (pipeline / baseline; aim >= 0.5)")
    print(f"api calls          {summary['api_calls']:>12,}   credits {summary['credits']:,}")
    for name in SERVICES:
        if name in sampler.peak:
            print(f"peak RSS {name:<10}{sampler.peak[name] / 2**20:>10.1f} MB")
    print("CPU seconds during the run (2 cores = %.1f s available):" % (2 * wall))
    for label in sorted(cpu_after, key=lambda k: -(cpu_after[k] - cpu_before.get(k, 0.0))):
        print(f"  {label:<12}{cpu_after[label] - cpu_before.get(label, 0.0):>8.1f} s")


if __name__ == "__main__":
    main()
