"""Dead letters through the CLI: ``dlq list`` shows what the importer refused, with reason and age;
``dlq retry`` puts it back and a good batch is imported; ``dlq purge`` drops the rest.

The good batch is refused for real: the importer's ``imported_batches`` table is renamed away while a run
goes, so its handler fails (``UndefinedTableError``) and ``DeadLetters`` dead-letters the batch; renamed
back (the bug fixed), a retry imports it. The poison is a body that is no JSON at all, published into the
importer's queue with no correlation id, as a stray publisher would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import aio_pika
import pytest

from tests.e2e.conftest import DATA, SMALL_MEMBERS
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IMPORTER = "recruit_sync.importer.record_batch"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # the run failed on purpose recorded no outcomes, while its batch is in the journal: its dry run
    # differs by design, so the stack's closing check of every run's dry run is left out
    with Stack(
        tmp_path_factory.mktemp("stack"), sim_data=str(DATA / "small.json"), check_dry_runs=False
    ) as running:
        running.add_connection()
        running.env["COLUMNS"] = "200"  # the tables of 'dlq list' unfolded, for the test to read
        yield running


def psql(stack: Stack, sql: str) -> None:
    subprocess.run(["psql", stack.database_url, "-qc", sql], check=True, capture_output=True, timeout=60)


def importer_dlq(stack: Stack, count: int, timeout: float = 60) -> dict[str, Any]:
    """The importer's DLQ as ``dlq list --json`` shows it, once it holds ``count`` messages."""
    deadline = time.monotonic() + timeout
    while True:
        [found] = [q for q in stack.json("dlq", "list") if q["queue"] == IMPORTER]
        if found["count"] == count or time.monotonic() > deadline:
            return dict(found)
        time.sleep(0.5)


def members(stack: Stack, list_name: str) -> set[str]:
    """The list's addresses; none while the list does not exist (it comes with its first import)."""
    shown = stack.run("list", "members", list_name, "--json", check=False)
    if shown.returncode != 0:
        assert f"no mailing list named '{list_name}'" in shown.stderr, shown.stderr
        return set()
    return {m["email"].lower() for m in json.loads(shown.stdout)}


async def publish_poison(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange("recruit_sync.events")
        await exchange.publish(
            aio_pika.Message(b"\x00 not json", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key="record.batch",
        )


def test_refused_messages_are_listed_a_good_one_retried_is_imported_the_rest_purged(stack: Stack) -> None:
    sync_id = stack.create_sync(
        {"name": "Retried", "connection": "acme-recruit", "module": "Candidates", "list": "Retried list"}
    )
    psql(stack, "ALTER TABLE importer.imported_batches RENAME TO imported_batches_away")
    try:
        failed = stack.run_sync(sync_id)
    finally:
        psql(stack, "ALTER TABLE importer.imported_batches_away RENAME TO imported_batches")
    assert failed["state"] == "failed" and "imported_batches" in (failed["error"] or ""), failed
    asyncio.run(publish_poison(stack.amqp_url))

    listed = importer_dlq(stack, 2)
    assert listed["count"] == 2, listed
    by_run = {m["run_id"]: m for m in listed["messages"]}
    assert set(by_run) == {failed["run_id"], None}  # the poison invents no run
    assert 'relation "imported_batches" does not exist' in by_run[failed["run_id"]]["reason"]
    assert by_run[None]["reason"].startswith("cannot read RecordBatch: ")
    assert all(m["event_type"] == "record.batch" and 0 <= m["age_seconds"] < 300 for m in listed["messages"])
    human = stack.run("dlq", "list").stdout
    assert f"{IMPORTER}.dlq (2)" in human and "cannot read RecordBatch" in human
    assert members(stack, "Retried list") == set()  # nothing imported meanwhile

    retried = stack.run("dlq", "retry", IMPORTER)
    assert retried.stdout == f"put back 2 message(s) into {IMPORTER}\n"
    deadline = time.monotonic() + 60
    imported: set[str] = set()
    while time.monotonic() < deadline and not imported:
        imported = members(stack, "Retried list")
        time.sleep(0.5)
    assert imported == SMALL_MEMBERS  # the good batch, imported
    left = importer_dlq(stack, 1)  # the poison, refused again
    assert [(m["run_id"], m["retries"]) for m in left["messages"]] == [(None, 1)], left

    purged = stack.run("dlq", "purge", f"{IMPORTER}.dlq")
    assert purged.stdout == f"dropped 1 message(s) from {IMPORTER}.dlq\n"
    assert all(q["count"] == 0 for q in stack.json("dlq", "list"))
    # the pipeline works on
    assert stack.run_sync(sync_id, full=True)["state"] == "succeeded"


def test_an_unknown_queue_is_one_error_line(stack: Stack) -> None:
    result = stack.run("dlq", "purge", "importer", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: no dead-letter queue 'importer': give a work queue (")
    assert len(result.stderr.strip().splitlines()) == 1


def test_dlq_list_json_names_every_work_queue(stack: Stack) -> None:
    listed = json.loads(stack.run("dlq", "list", "--json").stdout)
    assert {q["queue"] for q in listed} == {
        "recruit_sync.fetcher.sync_due",
        IMPORTER,
        "recruit_sync.history.events",
        "recruit_sync.scheduler.run_completed",
    }
