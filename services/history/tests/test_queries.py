"""History's RPC operations on the real database, through rpc.dispatch as the API calls them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from recruit_sync.contracts.events import IgnoreReason, Outcome
from recruit_sync.history import handlers
from recruit_sync.history.queries import Queries
from recruit_sync.runtime import rpc
from recruit_sync.runtime.journal import Journal

pytestmark = pytest.mark.integration

NO_JOURNAL = Journal("amqp://unused/")  # these operations read the database only (replay: test_journal.py)


async def _call(pool: asyncpg.Pool, op: str, **args: Any) -> dict[str, Any]:
    table = rpc.operations(Queries(pool, NO_JOURNAL).served())
    reply: dict[str, Any] = orjson.loads(await rpc.dispatch(table, orjson.dumps({"op": op, "args": args})))
    return reply


async def _finished_run(pool: asyncpg.Pool, run: Any, batches: list[list[Any]]) -> None:
    await handlers.start_run(run.sync_due(), pool=pool)
    for seq, outcomes in enumerate(batches):
        await handlers.record_batch(run.batch(seq, outcomes), pool=pool)
    await handlers.complete_fetch(run.fetch_completed(len(batches)), pool=pool)


@pytest.fixture
async def two_runs(pool: asyncpg.Pool, make_run: Any) -> tuple[Any, Any]:
    older = make_run()
    newer = make_run(started_at=older.started_at + timedelta(days=1))
    r = older.record
    await _finished_run(
        pool,
        older,
        [
            [
                r("1", "Ann@Example.com", Outcome.NEW),
                r("2", "info@example.com", Outcome.IGNORED, IgnoreReason.ROLE_ADDRESS),
            ],
            [
                r("3", "bob@example.com", Outcome.NEW),
                r("4", "jane@BÜCHER.de", Outcome.IGNORED, IgnoreReason.MALFORMED, "Email is a number"),
            ],
        ],
    )
    await _finished_run(
        pool,
        newer,
        [
            [
                r("1", "ann@example.com", Outcome.UNCHANGED),
                r("3", "bob@example.com", Outcome.UPDATED),
                r("4", "Jane@xn--bcher-kva.DE", Outcome.NEW),
            ]
        ],
    )
    return older, newer


async def test_runs_list_is_newest_first_in_the_summary_shape(pool: asyncpg.Pool, two_runs: Any) -> None:
    older, newer = two_runs
    await handlers.start_run(_other_sync(older), pool=pool)
    reply = await _call(pool, "runs.list", sync_id="sync-1")
    assert reply["ok"], reply
    assert [s["run_id"] for s in reply["result"]] == [newer.run_id, older.run_id]
    first = reply["result"][0]
    assert set(first["ignored_by_reason"]) == {reason.value for reason in IgnoreReason}
    assert (first["state"], first["total"], first["unchanged"], first["updated"]) == ("succeeded", 3, 1, 1)
    assert (await _call(pool, "runs.list", sync_id="nobody"))["result"] == []


def _other_sync(run: Any) -> Any:
    return run.sync_due().model_copy(update={"run_id": "run-of-another-sync", "sync_id": "sync-2"})


async def test_runs_get_and_its_404(pool: asyncpg.Pool, two_runs: Any) -> None:
    older, _ = two_runs
    reply = await _call(pool, "runs.get", run_id=older.run_id)
    assert reply["ok"] and reply["result"]["run_id"] == older.run_id
    result = reply["result"]
    assert (result["total"], result["ignored_by_reason"]["role_address"], result["ignored"]) == (4, 1, 2)
    missing = await _call(pool, "runs.get", run_id="no-such-run")
    assert (missing["ok"], missing["status"]) == (False, 404)
    assert "no-such-run" in missing["error"]
    bad = await _call(pool, "runs.get")
    assert (bad["ok"], bad["status"]) == (False, 400) and "run_id" in bad["error"]


async def test_runs_records_in_record_order_filtered_and_paged(pool: asyncpg.Pool, two_runs: Any) -> None:
    older, _ = two_runs
    reply = await _call(pool, "runs.records", run_id=older.run_id)
    assert reply["result"] == [
        {"record_id": "1", "email": "Ann@Example.com", "outcome": "new", "reason": None},
        {"record_id": "2", "email": "info@example.com", "outcome": "ignored", "reason": "role_address"},
        {"record_id": "3", "email": "bob@example.com", "outcome": "new", "reason": None},
        {
            "record_id": "4",
            "email": "jane@BÜCHER.de",
            "outcome": "ignored",
            "reason": "malformed: Email is a number",
        },
    ]
    new_only = await _call(pool, "runs.records", run_id=older.run_id, outcome="new")
    assert [r["record_id"] for r in new_only["result"]] == ["1", "3"]
    page = await _call(pool, "runs.records", run_id=older.run_id, limit=1, offset=1)
    assert [r["record_id"] for r in page["result"]] == ["2"]


async def test_runs_records_errors_name_the_problem(pool: asyncpg.Pool, two_runs: Any) -> None:
    older, _ = two_runs
    missing = await _call(pool, "runs.records", run_id="no-such-run")
    assert (missing["status"], "no-such-run" in missing["error"]) == (404, True)
    bad = await _call(pool, "runs.records", run_id=older.run_id, outcome="skipped")
    assert bad["status"] == 400 and bad["error"].startswith("outcome: ") and "'re_added'" in bad["error"]
    negative = await _call(pool, "runs.records", run_id=older.run_id, limit=-1)
    assert negative["status"] == 400 and "limit" in negative["error"]


async def test_explain_finds_an_address_whatever_its_case_newest_first(
    pool: asyncpg.Pool, two_runs: Any
) -> None:
    older, newer = two_runs
    reply = await _call(pool, "explain", email="  ANN@example.COM ")
    assert reply["ok"]
    assert [(e["run_id"], e["outcome"]) for e in reply["result"]] == [
        (newer.run_id, "unchanged"),
        (older.run_id, "new"),
    ]
    entry = reply["result"][0]
    assert set(entry) == {"run_id", "sync_id", "record_id", "outcome", "reason", "at"}
    assert entry["sync_id"] == "sync-1" and entry["record_id"] == "1"
    assert entry["at"].startswith("2026-11-03T09:31:00")
    ignored = (await _call(pool, "explain", email="info@example.com"))["result"]
    assert [(e["outcome"], e["reason"]) for e in ignored] == [("ignored", "role_address")]
    assert (await _call(pool, "explain", email="nobody@example.com"))["result"] == []


@pytest.mark.parametrize("asked", ["Jane@BÜCHER.de", "jane@xn--bcher-kva.de", "JANE@Bücher.DE"])
async def test_explain_finds_an_address_whatever_the_form_of_its_domain(
    pool: asyncpg.Pool, two_runs: Any, asked: str
) -> None:
    # stored once as jane@BÜCHER.de (older run) and once as Jane@xn--bcher-kva.DE (newer run)
    older, newer = two_runs
    reply = await _call(pool, "explain", email=asked)
    assert [(e["run_id"], e["outcome"], e["reason"]) for e in reply["result"]] == [
        (newer.run_id, "new", None),
        (older.run_id, "ignored", "malformed: Email is a number"),
    ]


async def test_requests_are_checked_by_their_models(pool: asyncpg.Pool, two_runs: Any) -> None:
    blank = await _call(pool, "explain", email="  ")
    assert (blank["ok"], blank["status"]) == (False, 400) and "email" in blank["error"]
    unknown = await _call(pool, "runs.list", sync_id="sync-1", colour="blue")
    assert unknown["status"] == 400 and "colour: unknown key" in unknown["error"]
