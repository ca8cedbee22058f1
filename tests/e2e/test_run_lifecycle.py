"""Runs never hang (issue 10), through the CLI on the whole stack: ``runs cancel``, a run failed by a
poison message that names it, poison messages that name no run, and a run that stalls.

A stuck importer is the real thing: its process is paused (SIGSTOP) while the run's batches wait for it,
and continued (SIGCONT) afterwards. Runs failed on purpose here recorded only part of their batches, so
the stack's closing dry-run check (every finished run reproduces) does not apply to them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from tests.e2e.conftest import DATA
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STALL_SECONDS = 5  # the stall test's limit (the services are restarted with it)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(
        tmp_path_factory.mktemp("lifecycle"),
        sim_data=str(DATA / "small.json"),
        # 16 candidates: 6 batches, all fetched while the importer is paused (a window of 8, ADR 0023)
        extra_env={"RECRUIT_SYNC_BATCH_SIZE": "3", "RECRUIT_SYNC_BATCHES_AHEAD": "8"},
        check_dry_runs=False,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def sync_id(stack: Stack) -> str:
    stack.add_connection()
    return stack.create_sync({"name": "Lifecycle", "connection": "acme-recruit", "list": "Lifecycle list"})


def _child_pid(parent: int, module: str) -> int:
    """The pid of ``services up``'s child running ``recruit_sync.<module>``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and f"recruit_sync.{module}".encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no {module} process under {parent}")


@contextmanager
def importer_paused(stack: Stack) -> Iterator[None]:
    """The importer process stopped (it holds its deliveries, imports nothing) until the block ends."""
    services = next(p for p in stack.procs if p.args[1:2] == ["services"])
    pid = _child_pid(services.pid, "importer")
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _start(stack: Stack, sync_id: str) -> str:
    """Start a full run (an incremental one would find nothing new: no batch at all) and return its id
    once history has heard of it (and it is running)."""
    started = stack.json("sync", "run", sync_id, "--full")
    assert started["started"], started
    run_id = str(started["run_id"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = stack.run("runs", "show", run_id, "--json", check=False)
        if shown.returncode == 0:
            assert json.loads(shown.stdout)["state"] == "running"
            return run_id
        time.sleep(0.3)
    raise AssertionError(f"history never heard of run {run_id}:\n{stack.logs()[-5000:]}")


def _ended(stack: Stack, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown: dict[str, Any] = stack.json("runs", "show", run_id)
        if shown["state"] != "running":
            return shown
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still running after {timeout} s:\n{stack.logs()[-5000:]}")


def _cleared(stack: Stack, sync_id: str, timeout: float = 60) -> None:
    """Until the scheduler has taken the run's RunCompleted: the sync has no run in flight."""
    deadline = time.monotonic() + timeout
    while stack.json("sync", "show", sync_id)["run_in_flight"] is not None:
        assert time.monotonic() < deadline, f"sync {sync_id} still has a run in flight"
        time.sleep(0.3)


def _runs_again(stack: Stack, sync_id: str, not_this: str) -> None:
    """The sync is not blocked by the run that failed: a new run starts and succeeds."""
    summary = stack.run_sync(sync_id, full=True)
    assert summary["run_id"] != not_this and summary["state"] == "succeeded", summary


async def _publish(amqp_url: str, queue: str, body: bytes, correlation_id: str | None) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                body, correlation_id=correlation_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            ),
            routing_key=queue,
        )
    finally:
        await connection.close()


def test_runs_cancel_stops_a_running_run_and_the_sync_runs_again(stack: Stack, sync_id: str) -> None:
    with importer_paused(stack):
        run_id = _start(stack, sync_id)
        cancelled = stack.run("runs", "cancel", run_id, "--json")
        summary = json.loads(cancelled.stdout)
        assert (summary["run_id"], summary["state"], summary["error"]) == (run_id, "failed", "cancelled")
        assert "cancelled; its sync may run again" in cancelled.stderr
        again = stack.run("runs", "cancel", run_id, check=False)
        assert again.returncode != 0 and again.stdout == ""
        assert again.stderr.strip().splitlines() == [f"error: run {run_id} has already failed (cancelled)"]
        unknown = stack.run("runs", "cancel", "no-such-run", check=False)
        assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1
        assert "no run 'no-such-run'" in unknown.stderr
        _cleared(stack, sync_id)
    # the importer now imports the cancelled run's batches: history keeps the run as it was cancelled
    _runs_again(stack, sync_id, run_id)
    assert stack.json("runs", "show", run_id) == summary


def test_a_poison_message_naming_a_running_run_fails_it_with_the_reason(stack: Stack, sync_id: str) -> None:
    with importer_paused(stack):
        run_id = _start(stack, sync_id)
        asyncio.run(
            _publish(
                stack.amqp_url, "recruit_sync.fetcher.sync_due", b'{"type": "sync.due", "oops": 1}', run_id
            )
        )
        failed = _ended(stack, run_id)
    assert failed["state"] == "failed"
    assert failed["error"].startswith(
        "fetcher rejected a message (recruit_sync.fetcher.sync_due): cannot read SyncDue"
    )
    _runs_again(stack, sync_id, run_id)


def test_poison_messages_naming_no_run_create_none(stack: Stack) -> None:
    random_run = str(uuid.uuid4())  # what FastStream sets when a publisher gives no correlation id
    queue = "recruit_sync.importer.record_batch"
    asyncio.run(_publish(stack.amqp_url, queue, b"\x00 not json", None))
    asyncio.run(_publish(stack.amqp_url, queue, b'{"type": "record.batch", "oops": 1}', random_run))
    deadline = time.monotonic() + 60
    dropped = "message rejected outside any run known to history"
    while stack.logs().count(dropped) < 2:
        assert time.monotonic() < deadline, stack.logs()[-5000:]
        time.sleep(0.3)
    rejected = [e.event() for e in stack.journal("message.rejected")]
    assert {(r["consumer"], r["run_id"]) for r in rejected} >= {("importer", None), ("importer", random_run)}
    shown = stack.run("runs", "show", random_run, check=False)
    assert shown.returncode != 0 and f"no run '{random_run}'" in shown.stderr
    completed = [e.event()["summary"] for e in stack.journal("run.completed")]
    assert completed and all(summary["sync_id"] for summary in completed), completed
    assert "run completed for an unknown sync" not in stack.logs()


def test_a_stalled_run_fails_naming_the_stage_and_the_sync_runs_again(stack: Stack, sync_id: str) -> None:
    stack.restart_services(RECRUIT_SYNC_RUN_STALL_SECONDS=str(STALL_SECONDS))
    with importer_paused(stack):
        run_id = _start(stack, sync_id)
        stalled = _ended(stack, run_id)
    assert stalled["state"] == "failed"
    assert stalled["error"] == f"stalled: no batch imported for {STALL_SECONDS} s (0 of 6 batches in)"
    assert stalled["total"] == 0
    _runs_again(stack, sync_id, run_id)
    assert stack.json("runs", "show", run_id)["error"] == stalled["error"]  # the late batches changed nothing
