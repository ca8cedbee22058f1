"""A sync travels simulator -> scheduler -> fetcher -> importer -> history, driven through the CLI."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import pytest

from tests.e2e.conftest import SMALL_MEMBERS
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OUTCOMES = ("new", "re_added", "duplicate", "updated", "unchanged", "ignored")
REASONS = (
    "empty_email", "invalid_pattern", "role_address", "file_duplicate", "opt_out",
    "converted", "do_not_mail", "bounced", "malformed",
)  # fmt: skip


def spec(name: str, list_name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "connection": "acme-recruit", "module": "Candidates", "list": list_name, **extra}


def assert_adds_up(summary: dict[str, Any]) -> None:
    assert summary["total"] == sum(summary[o] for o in OUTCOMES), summary
    assert summary["ignored"] == sum(summary["ignored_by_reason"].values()), summary
    assert set(summary["ignored_by_reason"]) == set(REASONS)


@pytest.fixture(scope="module")
def connection(stack: Stack) -> str:
    return stack.add_connection()


@pytest.fixture(scope="module")
def first_run(stack: Stack, connection: str) -> tuple[str, dict[str, Any]]:
    sync_id = stack.create_sync(
        spec("Pioneers", "Pioneers list", mapping=[{"from": "Current_Employer", "to": "company"}])
    )
    return sync_id, stack.run_sync(sync_id)


def test_first_run_counts_every_outcome(stack: Stack, first_run: tuple[str, dict[str, Any]]) -> None:
    sync_id, summary = first_run
    assert summary["state"] == "succeeded", stack.logs()[-5000:]
    assert summary["sync_id"] == sync_id and summary["trigger"] == "manual"
    assert_adds_up(summary)
    assert summary["total"] == 16
    assert summary["new"] == 8
    assert summary["ignored"] == 8
    assert summary["ignored_by_reason"] == {
        **dict.fromkeys(REASONS, 0),
        "empty_email": 2, "invalid_pattern": 2, "role_address": 2, "file_duplicate": 1, "malformed": 1,
    }  # fmt: skip
    # settings/modules (1 credit) + one list page (3) + one deleted-records pass (1)
    assert (summary["api_calls"], summary["credits"]) == (3, 5)


def test_list_members_carry_mapped_fields(stack: Stack, first_run: tuple[str, dict[str, Any]]) -> None:
    members = stack.json("list", "members", "Pioneers list")
    assert {m["email"].lower() for m in members} == SMALL_MEMBERS
    ada = next(m for m in members if m["email"].lower().startswith("ada."))
    assert (ada["first_name"], ada["last_name"], ada["company"]) == ("Ada", "Lovelace", "Zylker")


def test_per_record_history_and_csv(stack: Stack, first_run: tuple[str, dict[str, Any]]) -> None:
    _, summary = first_run
    records = stack.json("runs", "records", summary["run_id"])
    assert len(records) == 16
    malformed = [r for r in records if r["reason"] and r["reason"].startswith("malformed")]
    assert [r["record_id"] for r in malformed] == ["100016"]
    dup = next(r for r in records if r["record_id"] == "100012")
    assert (dup["outcome"], dup["reason"]) == ("ignored", "file_duplicate")
    csv = stack.run("runs", "records", summary["run_id"], "--outcome", "new", "--csv").stdout.splitlines()
    assert csv[0] == "record_id,email,outcome,reason" and len(csv) == 9


def test_second_full_run_is_unchanged_only(stack: Stack, first_run: tuple[str, dict[str, Any]]) -> None:
    sync_id, first = first_run
    second = stack.run_sync(sync_id, full=True)
    assert second["state"] == "succeeded" and second["trigger"] == "full_resync"
    assert_adds_up(second)
    assert second["run_id"] != first["run_id"]
    assert (second["new"], second["updated"], second["duplicate"], second["re_added"]) == (0, 0, 0, 0)
    assert second["unchanged"] == 8 and second["ignored"] == 8
    runs = stack.json("runs", "list", sync_id)
    assert [r["run_id"] for r in runs[:2]] == [second["run_id"], first["run_id"]]


def test_second_sync_to_another_list_gives_duplicates(
    stack: Stack, first_run: tuple[str, dict[str, Any]]
) -> None:
    other = stack.create_sync(spec("Pioneers again", "Newsletter"))
    summary = stack.run_sync(other)
    assert summary["state"] == "succeeded"
    assert_adds_up(summary)
    assert (summary["duplicate"], summary["new"]) == (8, 0)
    assert {m["email"].lower() for m in stack.json("list", "members", "Newsletter")} == SMALL_MEMBERS


def test_sync_show_reports_the_detail_view(stack: Stack, first_run: tuple[str, dict[str, Any]]) -> None:
    sync_id, _ = first_run
    shown = stack.json("sync", "show", sync_id)
    for key in ("id", "name", "state", "state_reason", "next_due_at", "last_retrieval_at", "spec"):
        assert key in shown, key
    assert shown["spec"]["list"] == "Pioneers list"
    assert shown["last_retrieval_at"] is not None
    listed = stack.json("sync", "list")
    assert sync_id in {s["id"] for s in listed}


def test_sync_show_by_name_lists_the_runs_too(stack: Stack, first_run: tuple[str, dict[str, Any]]) -> None:
    sync_id, summary = first_run
    by_name = stack.json("sync", "show", "Pioneers")
    by_id = stack.json("sync", "show", sync_id)
    assert by_name["id"] == sync_id
    assert summary["run_id"] in [run["run_id"] for run in by_name["runs"]]
    assert by_name["runs"] == by_id["runs"] and by_name["last_run"] == by_id["last_run"]


def test_explain_finds_an_address_whatever_its_case_or_the_form_of_its_domain(
    stack: Stack, first_run: tuple[str, dict[str, Any]]
) -> None:
    sync_id, _ = first_run
    jane = {"id": "990001", "Email": "Jane@BÜCHER.de", "First_Name": "Jane", "Last_Name": "Bücher"}
    stack.sim("POST", "/_sim/records/Candidates", [jane])
    assert stack.run_sync(sync_id)["state"] == "succeeded"
    for form in ("Jane@BÜCHER.de", "jane@xn--bcher-kva.de", "JANE@bücher.DE", " jane@Xn--Bcher-Kva.de "):
        found = stack.json("explain", form)
        assert [(e["record_id"], e["outcome"]) for e in found] == [("990001", "new")], form
    members = {m["email"] for m in stack.json("list", "members", "Pioneers list")}
    assert "Jane@xn--bcher-kva.de" in members


async def _publish(
    amqp_url: str, routing_key: str, body: bytes, correlation_id: str, message_id: str
) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange("recruit_sync.events")
        await exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                correlation_id=correlation_id,
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
        )
    finally:
        await connection.close()


def test_a_redelivered_record_batch_changes_nothing(
    stack: Stack, first_run: tuple[str, dict[str, Any]]
) -> None:
    _, summary = first_run
    before_run = stack.json("runs", "show", summary["run_id"])
    before_members = stack.json("list", "members", "Pioneers list")
    batches = [e.body for e in stack.journal("record.batch") if e.correlation_id == summary["run_id"]]
    assert batches, "the run's RecordBatch is in the journal"
    event = json.loads(batches[0])
    asyncio.run(_publish(stack.amqp_url, "record.batch", batches[0], summary["run_id"], event["event_id"]))
    asyncio.run(asyncio.sleep(3))
    assert stack.json("runs", "show", summary["run_id"]) == before_run
    assert stack.json("list", "members", "Pioneers list") == before_members


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"colour": "blue"}, "colour: unknown key"),
        ({"schedule": {"kind": "weekly", "at": "9am"}}, "schedule.at"),
        ({"options": {"on_recruit_delete": "purge"}}, "options.on_recruit_delete"),
        ({"connection": "nobody"}, "connection"),
        ({"retrieval": {"kind": "after", "after": "2020-01-01T00:00:00+00:00"}}, "retrieval.after"),
    ],
)
def test_sync_create_refuses_a_bad_spec_naming_the_key(
    stack: Stack, connection: str, extra: dict[str, Any], named: str
) -> None:
    path = stack.workdir / f"bad-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({**spec(f"bad {uuid.uuid4().hex[:6]}", "Bad list"), **extra}))
    result = stack.run("sync", "create", "--file", str(path), check=False)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
