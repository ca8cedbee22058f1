"""Metrics and health through the real processes: ``services up`` gives each process its ops port from
``RECRUIT_SYNC_OPS_PORT_BASE`` (INTERFACE.md), and after a run of N records the importer's ``/metrics``
counts N records by outcome and ignore reason, exactly the run summary's figures."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from recruit_sync.contracts import topology
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parent / "data"
N = 1216  # data/small.json's 16 records and 1,200 generated candidates
PROCESSES = {"scheduler": 0, "fetcher": 1, "importer": 2, "history": 3, "api": 4}
BOUND = 60.0  # seconds: generous, for a busy machine


def free_base() -> int:
    """A base whose five ports (+0 .. +4) are free now."""
    for _ in range(200):
        base = random.randrange(20000, 60000, 10)
        try:
            for offset in range(5):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no free range of five ports")


@pytest.fixture(scope="module")
def ops_base() -> int:
    return free_base()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, ops_base: int) -> Iterator[Stack]:
    env = {"RECRUIT_SYNC_OPS_PORT_BASE": str(ops_base), "RECRUIT_SYNC_GAUGE_SECONDS": "1"}
    with Stack(
        tmp_path_factory.mktemp("metrics"),
        sim_data=str(DATA / "small.json"),
        sim_generate=1200,
        extra_env=env,
    ) as running:
        yield running


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample of metric ``name`` on a Prometheus text page, by its labels."""
    found: dict[frozenset[tuple[str, str]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[frozenset(sample.labels.items())] = sample.value
    return found


def page(port: int) -> str:
    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    return answer.text


@pytest.fixture(scope="module")
def run(stack: Stack) -> tuple[str, dict[str, Any]]:
    stack.add_connection()
    sync_id = stack.create_sync(
        {"name": "Metered", "connection": "acme-recruit", "module": "Candidates", "list": "Metered list"}
    )
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", stack.logs()[-5000:]
    return sync_id, summary


def test_every_process_answers_on_its_own_ops_port(stack: Stack, ops_base: int) -> None:
    for name, offset in PROCESSES.items():
        port = ops_base + offset
        deadline = time.monotonic() + BOUND
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=10)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{name} not ready on {port}"
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=10).json() == {"status": "ok"}
        text = page(port)
        assert "# TYPE process_cpu_seconds_total counter" in text
        if name != "api":  # the workers: their domain metrics and FastStream's middleware on their broker
            assert "# TYPE recruit_sync_records_total counter" in text
            assert "# TYPE faststream_received_messages_total counter" in text


def test_the_importer_counts_every_record_of_the_run_by_outcome(
    stack: Stack, ops_base: int, run: tuple[str, dict[str, Any]]
) -> None:
    sync_id, summary = run
    assert summary["total"] == N
    counted = samples(page(ops_base + PROCESSES["importer"]), "recruit_sync_records_total")
    mine = {labels: value for labels, value in counted.items() if ("sync_id", sync_id) in labels}
    by_outcome: dict[str, float] = {}
    by_reason: dict[str, float] = {}
    for labels, value in mine.items():
        named = dict(labels)
        by_outcome[named["outcome"]] = by_outcome.get(named["outcome"], 0) + value
        if named["reason"]:
            by_reason[named["reason"]] = by_reason.get(named["reason"], 0) + value
    assert sum(v for o, v in by_outcome.items() if o != "deleted") == N  # (the summary's total)
    outcomes = ("new", "re_added", "duplicate", "updated", "unchanged", "ignored", "deleted")
    assert {o: int(by_outcome.get(o, 0)) for o in outcomes} == {o: summary.get(o, 0) for o in outcomes}
    assert {r: int(v) for r, v in by_reason.items()} == {
        r: n for r, n in summary["ignored_by_reason"].items() if n
    }


def test_history_and_fetcher_count_the_run(
    stack: Stack, ops_base: int, run: tuple[str, dict[str, Any]]
) -> None:
    sync_id, summary = run
    runs = samples(page(ops_base + PROCESSES["history"]), "recruit_sync_runs_total")
    assert runs == {frozenset({("sync_id", sync_id), ("state", "succeeded")}): 1.0}
    durations = samples(page(ops_base + PROCESSES["history"]), "recruit_sync_run_duration_seconds_count")
    assert durations == {frozenset({("sync_id", sync_id)}): 1.0}
    fetcher = page(ops_base + PROCESSES["fetcher"])
    assert samples(fetcher, "recruit_sync_recruit_calls_total") == {
        frozenset({("connection", "acme-recruit")}): float(summary["api_calls"])
    }
    assert samples(fetcher, "recruit_sync_recruit_credits_total") == {
        frozenset({("connection", "acme-recruit")}): float(summary["credits"])
    }


def test_the_scheduler_reports_queue_depths(
    stack: Stack, ops_base: int, run: tuple[str, dict[str, Any]]
) -> None:
    deadline = time.monotonic() + BOUND
    while True:
        text = page(ops_base + PROCESSES["scheduler"])
        queues = samples(text, "recruit_sync_queue_messages")
        dlqs = samples(text, "recruit_sync_dlq_messages")
        if queues and dlqs:
            break
        assert time.monotonic() < deadline, text[-3000:]
        time.sleep(0.5)
    assert {dict(labels)["queue"] for labels in queues} == set(topology.WORK_QUEUES)
    assert {dict(labels)["queue"] for labels in dlqs} == {topology.dlq_name(q) for q in topology.WORK_QUEUES}
    assert all(value == 0 for value in dlqs.values()), dlqs  # nothing was dead-lettered
    assert "recruit_sync_oldest_due_sync_age_seconds 0.0" in text
