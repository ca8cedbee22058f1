"""What the benchmarks share: a stack started for a benchmark, the baseline upsert, CPU seconds per
component, the peak-RSS sampler and the way both are printed, and run-summary helpers.

Every benchmark prints ratios against a baseline measured in the same run, never a timed assertion.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.e2e.stack import Stack

SERVICES = ("scheduler", "fetcher", "importer", "history", "api")
# the mapping pipeline.py has always used: one field beyond the three defaults
BENCH_MAPPING = [{"from": "Current_Employer", "to": "company"}]


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


def best_seconds(work: Callable[[], object], rounds: int) -> float:
    """The shortest of ``rounds`` timings of ``work``: the micro-benchmarks' measure (the least disturbed
    round on a shared machine)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


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


def print_cpu_seconds(
    before: dict[str, float], after: dict[str, float], wall: float, what: str = "during the run"
) -> None:
    """The "CPU seconds per component" block: each component's share of ``after - before``, biggest first."""
    print(f"CPU seconds {what} (2 cores = %.1f s available):" % (2 * wall))
    for label in sorted(after, key=lambda k: -(after[k] - before.get(k, 0.0))):
        print(f"  {label:<12}{after[label] - before.get(label, 0.0):>8.1f} s")


class RssSampler(threading.Thread):
    """Peak RSS of each service process under ``root_pid`` (``services up``), sampled every 0.2 s."""

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

    def stop(self) -> dict[str, int]:
        self.stopped.set()
        self.join()
        return self.peak


@contextmanager
def bench_stack(
    sim_generate: int = 0, *, replicas: int = 1, sim_data: dict[str, Any] | None = None
) -> Iterator[Stack]:
    """A ``Stack`` (simulator with ``sim_generate`` candidates and ``sim_data`` as its data file, then
    ``services up``) in a temporary directory, without the tests' dry-run check on stop: it replays every
    run in the journal, minutes after a big run, and a benchmark has no use for it."""
    with tempfile.TemporaryDirectory() as tmp:
        data_file = None
        if sim_data is not None:
            data_file = str(Path(tmp) / "sim-data.json")
            Path(data_file).write_text(json.dumps(sim_data))
        with Stack(
            Path(tmp), sim_generate=sim_generate, sim_data=data_file, replicas=replicas, check_dry_runs=False
        ) as stack:
            yield stack


def services_pid(stack: Stack) -> int:
    """The pid of ``recruit-sync services up`` (the services are its children)."""
    return next(p.pid for p in stack.procs if isinstance(p.args, list) and p.args[1:2] == ["services"])


def root_pids(stack: Stack) -> list[int]:
    """The stack's own processes (simulator, ``services up``), for ``cpu_seconds_by_component``."""
    return [p.pid for p in stack.procs]


def run_seconds(summary: dict[str, Any]) -> float:
    """A run's time from its summary: ``finished_at - started_at``."""
    started = datetime.fromisoformat(summary["started_at"])
    finished = datetime.fromisoformat(summary["finished_at"])
    return (finished - started).total_seconds()


def require_success(stack: Stack, summary: dict[str, Any], what: str = "run") -> None:
    """Exit non-zero, with the end of the stack's logs, unless the run succeeded."""
    if summary["state"] != "succeeded":
        sys.exit(f"{what} failed: {summary.get('error')}\n{stack.logs()[-4000:]}")


@dataclass(frozen=True)
class TimedRun:
    """One run of a sync: its summary, the CLI's wall time, and each component's CPU seconds so far
    before and after it (``print_cpu_seconds`` prints the difference)."""

    summary: dict[str, Any]
    wall: float
    cpu_before: dict[str, float]
    cpu_after: dict[str, float]

    def print_cpu_seconds(self, what: str = "during the run") -> None:
        print_cpu_seconds(self.cpu_before, self.cpu_after, self.wall, what)


def timed_run(
    stack: Stack, sync_id: str, roots: list[int], *, full: bool, timeout: float, what: str = "run"
) -> TimedRun:
    """Run the sync (``--full`` if ``full``) and wait for it; exit non-zero unless it succeeded."""
    cpu_before = cpu_seconds_by_component(roots)
    wall = time.perf_counter()
    summary = stack.run_sync(sync_id, full=full, timeout=timeout)
    wall = time.perf_counter() - wall
    cpu_after = cpu_seconds_by_component(roots)
    require_success(stack, summary, what)
    return TimedRun(summary, wall, cpu_before, cpu_after)


def bench_sync(stack: Stack, name: str, connection: str = "acme-recruit", **spec: Any) -> str:
    """Create a sync of ``connection`` onto list ``name`` with the benchmark mapping; ``spec`` adds keys."""
    return stack.create_sync(
        {"name": name, "connection": connection, "list": name, "mapping": BENCH_MAPPING, **spec}
    )


def baseline_upsert_rate(database_url: str, n: int) -> float:
    """``baseline_upsert`` run to completion (rows/s)."""
    return asyncio.run(baseline_upsert(database_url, n))
