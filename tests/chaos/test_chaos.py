"""The chaos suite: a full sync with a fault injected mid-run ends exactly as the fault-free run does.

Each scenario runs on a fresh ``ChaosStack`` (every service its own process, each behind its own proxies),
starts a full sync of ``CHAOS_RECORDS`` generated candidates (blanks, invalid and role addresses, file
duplicates among them) from a Recruit slowed to ``CALL_DELAY`` a call, waits until history has counted a
fifth of it, breaks something, repairs it, and asserts the run reaches a terminal state within ``BOUND``
seconds with the fault-free run's counts, every record's outcome and the list's members, exactly.

``make test`` runs the scenarios of ``QUICK`` on 3,000 records; ``make chaos`` (``CHAOS_FULL=1``) runs all
of them on 20,000 and prints a line per scenario: how long after the fault the run ended.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import aio_pika
import httpx
import pytest

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import RecordBatch
from recruit_sync.runtime.journal import Journal
from tests.chaos.harness import ChaosStack, Outcome
from tests.e2e.stack import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL
from tests.faults.postgres import PrivatePostgres
from tests.faults.rabbitmq import PrivateRabbitMQ

pytestmark = [pytest.mark.chaos, pytest.mark.e2e, pytest.mark.slow]

FULL = os.environ.get("CHAOS_FULL") == "1"
RECORDS = int(os.environ.get("CHAOS_RECORDS", "20000" if FULL else "3000"))
CALL_DELAY = 0.1 if FULL else 0.15  # seconds per Recruit call: the run lasts long enough to be hit
BOUND = 180.0  # seconds from the fault to the run's end
DATABASE = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
BROKER = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
IMPORTER_QUEUE = topology.IMPORTER_RECORD_BATCH
QUICK = {"kill importer", "cut history from broker and database", "poison messages"}

Fault = Callable[[ChaosStack, str], None]


def _slow_recruit(stack: ChaosStack) -> None:
    httpx.post(f"{stack.sim_url}/_sim/faults", json={"delay": CALL_DELAY, "count": 1_000_000}, timeout=10)


def _run_with(stack: ChaosStack, fault: Fault | None) -> tuple[Outcome, float]:
    _slow_recruit(stack)
    run_id = stack.start_run()
    stack.wait_for_progress(run_id, RECORDS // 5)
    began = time.monotonic()
    if fault is not None:
        fault(stack, run_id)
    summary = stack.wait_for_end(run_id, timeout=BOUND)
    took = time.monotonic() - began
    assert summary["state"] == "succeeded", (summary.get("error"), stack.logs()[-8000:])
    return stack.outcome(summary), took


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    with ChaosStack(tmp_path_factory.mktemp("fault-free"), DATABASE, BROKER, records=RECORDS) as stack:
        outcome, _ = _run_with(stack, None)
    assert outcome.counts["total"] == RECORDS and outcome.counts["ignored"] > 0
    return outcome


# --- the faults ----------------------------------------------------------------------------------------


def _kill_and_restart(service: str, pause: float = 1.0) -> Fault:
    def fault(stack: ChaosStack, run_id: str) -> None:
        name = f"{service}-1" if service != "api" else "api"
        stack.kill(name, signal.SIGKILL)
        time.sleep(pause)
        stack.start(name)

    return fault


def _cut(service: str, seconds: float = 5.0) -> Fault:
    def fault(stack: ChaosStack, run_id: str) -> None:
        name = f"{service}-1"
        stack.cut(name)
        time.sleep(seconds)
        stack.restore(name)

    return fault


def _kill_one_of_three(stack: ChaosStack, run_id: str) -> None:
    for service in ("importer", "fetcher", "history"):
        stack.kill(f"{service}-2", signal.SIGKILL)  # and not restarted: the other two carry on


def _poison(stack: ChaosStack, run_id: str) -> None:
    """A body that is not JSON and a JSON body of the wrong shape, without a run, into the importer."""

    async def send() -> None:
        connection = await aio_pika.connect(stack.amqp_url)
        async with connection:
            channel = await connection.channel()
            for body in (b"not json at all", b'{"type": "record.batch", "surprise": true}'):
                await channel.default_exchange.publish(aio_pika.Message(body), routing_key=IMPORTER_QUEUE)

    asyncio.run(send())


def _redeliver_batches(stack: ChaosStack, run_id: str) -> None:
    """The run's batches so far published again, as a broker redelivering after a lost ack would."""
    started = datetime.fromisoformat(stack.api(f"/runs/{run_id}")["started_at"])
    batches: list[RecordBatch] = []

    def take(event: Envelope) -> None:
        if isinstance(event, RecordBatch):
            batches.append(event)

    asyncio.run(Journal(stack.amqp_url).read_run(run_id, started, None, take))
    assert batches

    async def send() -> None:
        connection = await aio_pika.connect(stack.amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(topology.EVENTS_EXCHANGE, ensure=False)
            for batch in batches:
                body = batch.model_dump_json().encode()
                message = aio_pika.Message(body, correlation_id=run_id, message_id=str(batch.event_id))
                await exchange.publish(message, routing_key=topology.RECORD_BATCH)

    asyncio.run(send())


SCENARIOS: dict[str, tuple[Fault, int]] = {  # name -> (fault, replicas)
    "kill importer": (_kill_and_restart("importer"), 1),
    "kill fetcher": (_kill_and_restart("fetcher"), 1),
    "kill history": (_kill_and_restart("history"), 1),
    "kill scheduler": (_kill_and_restart("scheduler"), 1),
    "kill api": (_kill_and_restart("api"), 1),
    "cut importer from broker and database": (_cut("importer"), 1),
    "cut history from broker and database": (_cut("history"), 1),
    "cut fetcher from broker and database": (_cut("fetcher"), 1),
    "kill one of three replicas of each worker": (_kill_one_of_three, 3),
    "poison messages": (_poison, 1),
    "batches redelivered": (_redeliver_batches, 1),
}


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> Iterator[str]:
    if not FULL and request.param not in QUICK:
        pytest.skip("make chaos runs it (CHAOS_FULL=1)")
    yield request.param


def test_a_fault_mid_run_ends_as_the_fault_free_run(
    scenario: str, fault_free: Outcome, tmp_path: Path, report: Callable[[str], None]
) -> None:
    fault, replicas = SCENARIOS[scenario]
    with ChaosStack(tmp_path, DATABASE, BROKER, records=RECORDS, replicas=replicas) as stack:
        outcome, took = _run_with(stack, fault)
        assert outcome.counts == fault_free.counts
        assert outcome.records == fault_free.records
        assert outcome.members == fault_free.members
        assert stack.every_run() == [stack.json("runs", "list", stack.sync_id)[0]["run_id"]]  # none invented
    report(f"{scenario:<45} ok: run ended {took:5.1f} s after the fault, {RECORDS:,} records as fault-free")


def test_a_broker_stopped_for_seconds_mid_run_ends_as_the_fault_free_run(
    fault_free: Outcome, tmp_path: Path, report: Callable[[str], None]
) -> None:
    """RabbitMQ (a private node) stopped for 5 s and started: every process, the API included, carries on."""
    if not FULL:
        pytest.skip("make chaos runs it (CHAOS_FULL=1)")
    broker = PrivateRabbitMQ()
    try:
        broker.start()

        def restart(stack: ChaosStack, run_id: str) -> None:
            broker.stop()
            time.sleep(5)
            broker.start()
            began = time.monotonic()
            stack.wait_until(
                lambda: stack.cli("runs", "show", run_id, check=False).returncode == 0, 10, "runs show"
            )
            back = time.monotonic() - began
            report(f"{'  runs show answers again':<45} {back:5.1f} s after the broker is back")

        with ChaosStack(
            tmp_path, DATABASE, broker.amqp_url, records=RECORDS, rabbitmq_node=broker.node
        ) as stack:
            outcome, took = _run_with(stack, restart)
            assert (outcome.counts, outcome.records, outcome.members) == (
                fault_free.counts,
                fault_free.records,
                fault_free.members,
            )
    finally:
        broker.close()
    report(f"{'broker stopped 5 s':<45} ok: run ended {took:5.1f} s after the fault")


@pytest.mark.skipif(not FULL, reason="make chaos runs it (CHAOS_FULL=1)")
def test_a_postgres_restart_mid_run_ends_as_the_fault_free_run(
    fault_free: Outcome, tmp_path: Path, report: Callable[[str], None]
) -> None:
    pg = PrivatePostgres()
    try:
        pg.start()
        with ChaosStack(tmp_path, pg.url, BROKER, records=RECORDS) as stack:
            outcome, took = _run_with(stack, lambda _stack, _run: pg.restart())
            assert (outcome.counts, outcome.records, outcome.members) == (
                fault_free.counts,
                fault_free.records,
                fault_free.members,
            )
    finally:
        pg.close()
    report(f"{'postgres restarted':<45} ok: run ended {took:5.1f} s after the fault")
