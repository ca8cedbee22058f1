"""SPEC section 5, row by row, through the CLI on the real stack: every outcome and ignore reason of a
crafted data file (data/import_rules.json), the suppression registry, per-record history, explain,
the run's CSV export and the sync detail view.

The store before the main run is made through the product too: a seed sync puts alan@ on another list
(row 11: duplicate) and removes katherine@ from the organisation (row 10: re_added).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from recruit_sync.contracts.events import ImportSettings, RecordBatch
from recruit_sync.contracts.sync_spec import FieldMapping, Options
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parent / "data"
OUTCOMES = ("new", "re_added", "duplicate", "updated", "unchanged", "ignored")
MAPPING = [
    {"from": "Current_Employer", "to": "company"},
    {"from": "Candidate_Owner", "to": "owner"},
]
# record id -> (outcome, reason) of the main run: one row of SPEC section 5's table each
EXPECTED = {
    "300001": ("new", None),  # 9
    "300002": ("ignored", "empty_email"),  # 1: no Email key
    "300003": ("ignored", "empty_email"),  # 1: null
    "300004": ("ignored", "empty_email"),  # 1: blank
    "300005": ("ignored", "invalid_pattern"),  # 2: no @ (patriciazylker.com)
    "300006": ("ignored", "invalid_pattern"),  # 2: typo of a common domain (john@gnail.com)
    "300007": ("ignored", "invalid_pattern"),  # 2: a domain without its ending (jane@aol)
    "300008": ("ignored", "role_address"),  # 3: careers@
    "300009": ("ignored", "role_address"),  # 3: info@
    "300010": ("new", None),  # 9: the more recent of two records of grace@
    "300011": ("ignored", "file_duplicate"),  # 4: the older one, listed after it
    "300012": ("ignored", "opt_out"),  # 5
    "300013": ("ignored", "converted"),  # 6
    "300014": ("ignored", "do_not_mail"),  # 7
    "300015": ("ignored", "bounced"),  # 8
    "300020": ("duplicate", None),  # 11: already on another list
    "300021": ("re_added", None),  # 10: removed from the organisation before
    "300022": ("new", None),  # 9
}
MALFORMED = {  # record id -> the problem named in the reason
    "300016": "Email is not a string",
    "300017": "Email_Opt_Out is not a boolean",
    "300018": "First_Name",
    "300019": "Candidate_Owner is an object without a name",
}


def spec(name: str, list_name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "connection": "acme-recruit", "list": list_name, **extra}


def assert_adds_up(summary: dict[str, Any]) -> None:
    assert summary["total"] == sum(summary[o] for o in OUTCOMES), summary
    assert summary["ignored"] == sum(summary["ignored_by_reason"].values()), summary


def by_record(records: list[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    return {r["record_id"]: (r["outcome"], r["reason"]) for r in records}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("rules"), sim_data=str(DATA / "import_rules.json")) as running:
        running.add_connection()
        yield running


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> dict[str, Any]:
    """alan@ and katherine@ on list "Elsewhere"; then katherine@ removed from the organisation; the
    suppression registry filled through the CLI."""
    seed = stack.create_sync(
        spec("Rules seed", "Elsewhere", module="Rules_Seed", options={"on_recruit_delete": "remove_from_org"})
    )
    first = stack.run_sync(seed)
    assert (first["state"], first["new"]) == ("succeeded", 2), first
    stack.sim("DELETE", "/_sim/records/Rules_Seed/800002")
    removal = stack.run_sync(seed)
    assert (removal["state"], removal["deleted"]) == ("succeeded", 1), removal
    assert [m["email"] for m in stack.json("list", "members", "Elsewhere")] == ["alan@rules.example"]

    added = stack.json("suppress", "add", "--reason", "do_not_mail", "Margaret@Rules.example")
    bounced_file = stack.workdir / "bounced.csv"
    bounced_file.write_text("name,email\nLinus,linus@rules.example\nNobody,not an address\n")
    imported = stack.json("suppress", "import", "--reason", "bounced", str(bounced_file))
    lines_file = stack.workdir / "do-not-mail.txt"
    lines_file.write_text(
        "# unsubscribed at the career fair\nfair.visitor@rules.example\n\nMARGARET@rules.example\n"
    )
    from_lines = stack.json("suppress", "import", "--reason", "do_not_mail", str(lines_file))
    return {"added": added, "imported": imported, "from_lines": from_lines}


@pytest.fixture(scope="module")
def main_run(stack: Stack, seeded: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sync_id = stack.create_sync(
        spec(
            "Rules",
            "Rules list",
            options={"exclude_opt_out": True, "exclude_converted": True},
            mapping=MAPPING,
        )
    )
    return sync_id, stack.run_sync(sync_id)


def test_suppressions_are_added_and_imported_from_csv_and_plain_files(
    stack: Stack, seeded: dict[str, Any]
) -> None:
    assert seeded["added"]["added"] == 1
    assert seeded["imported"] == {"read": 1, "added": 1, "skipped": 1}
    assert seeded["from_lines"] == {"read": 2, "added": 1, "skipped": 0}  # margaret@ was there already
    registry = stack.json("suppress", "list")
    assert {(s["email"].lower(), s["reason"]) for s in registry} == {
        ("margaret@rules.example", "do_not_mail"),
        ("fair.visitor@rules.example", "do_not_mail"),
        ("linus@rules.example", "bounced"),
    }
    assert [s["email"] for s in stack.json("suppress", "list", "--reason", "bounced")] == [
        "linus@rules.example"
    ]


def test_every_row_of_the_table_gets_its_outcome(stack: Stack, main_run: tuple[str, dict[str, Any]]) -> None:
    _, summary = main_run
    assert summary["state"] == "succeeded", stack.logs()[-5000:]
    assert_adds_up(summary)
    assert summary["total"] == 22
    assert (summary["new"], summary["re_added"], summary["duplicate"]) == (3, 1, 1)
    assert summary["ignored_by_reason"] == {
        "empty_email": 3, "invalid_pattern": 3, "role_address": 2, "file_duplicate": 1, "opt_out": 1,
        "converted": 1, "do_not_mail": 1, "bounced": 1, "malformed": 4,
    }  # fmt: skip
    assert summary["deleted"] == 0

    records = stack.json("runs", "records", summary["run_id"])
    assert len(records) == 22
    outcomes = by_record(records)
    assert {rid: outcomes[rid] for rid in EXPECTED} == EXPECTED
    for record_id, problem in MALFORMED.items():
        outcome, reason = outcomes[record_id]
        assert outcome == "ignored" and reason is not None, (record_id, reason)
        assert reason.startswith("malformed: ") and problem in reason, (record_id, reason)


def test_the_list_holds_the_placed_contacts_with_the_winning_fields(
    stack: Stack, main_run: tuple[str, dict[str, Any]]
) -> None:
    members = {m["email"].lower(): m for m in stack.json("list", "members", "Rules list")}
    assert set(members) == {
        "ada@rules.example",
        "grace@rules.example",
        "alan@rules.example",
        "katherine@rules.example",
        "barbara@rules.example",
    }
    assert members["grace@rules.example"]["last_name"] == "Hopper-Newer"  # the more recent record's
    ada = members["ada@rules.example"]
    assert (ada["company"], ada["owner"]) == ("Zylker", "Priya Raman")  # a lookup maps to its name
    # the duplicate stayed on its other list; the re-added contact is back on this list only
    assert [m["email"] for m in stack.json("list", "members", "Elsewhere")] == ["alan@rules.example"]


def test_runs_records_filters_by_outcome_and_exports_csv(
    stack: Stack, main_run: tuple[str, dict[str, Any]]
) -> None:
    _, summary = main_run
    ignored = stack.json("runs", "records", summary["run_id"], "--outcome", "ignored")
    assert len(ignored) == summary["ignored"] == 17
    assert {r["outcome"] for r in ignored} == {"ignored"}
    exported = stack.run("runs", "records", summary["run_id"], "--outcome", "ignored", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0]) == ["record_id", "email", "outcome", "reason"]
    assert {r["record_id"]: r["reason"] for r in rows}["300014"] == "do_not_mail"
    assert len(rows) == 17
    new = stack.run("runs", "records", summary["run_id"], "--outcome", "new", "--csv").stdout
    assert sorted(r["record_id"] for r in csv.DictReader(io.StringIO(new))) == ["300001", "300010", "300022"]


def test_explain_says_why_an_address_was_ignored(stack: Stack, main_run: tuple[str, dict[str, Any]]) -> None:
    sync_id, summary = main_run
    margaret = stack.json("explain", "MARGARET@rules.example")
    assert [(e["outcome"], e["reason"], e["record_id"]) for e in margaret] == [
        ("ignored", "do_not_mail", "300014")
    ]
    assert (margaret[0]["run_id"], margaret[0]["sync_id"]) == (summary["run_id"], sync_id)
    grace = stack.json("explain", "grace@rules.example")
    assert sorted((e["record_id"], e["outcome"], e["reason"]) for e in grace) == [
        ("300010", "new", None),
        ("300011", "ignored", "file_duplicate"),
    ]
    # newest first across runs: katherine@ was placed by the seed sync, deleted, then re-added here
    katherine = stack.json("explain", "katherine@rules.example")
    assert [e["outcome"] for e in katherine] == ["re_added", "deleted", "new"]
    assert stack.run("explain", "katherine@rules.example").stdout.count("re_added") == 1


def test_later_runs_report_updated_and_unchanged(stack: Stack, main_run: tuple[str, dict[str, Any]]) -> None:
    sync_id, _ = main_run
    source = {
        r["id"]: r for r in json.loads((DATA / "import_rules.json").read_text())["modules"]["Candidates"]
    }
    # touched in Recruit (a new Updated_On): ada unchanged in what is mapped, barbara renamed
    touched = [{**source["300001"]}, {**source["300022"], "Last_Name": "Liskov-Wing"}]
    for record in touched:
        record.pop("Updated_On")
    stack.sim("POST", "/_sim/records/Candidates", touched)
    second = stack.run_sync(sync_id)  # incremental: only what changed since the last run
    assert second["state"] == "succeeded"
    assert_adds_up(second)
    assert (second["total"], second["updated"], second["unchanged"]) == (2, 1, 1), second
    members = {m["email"]: m for m in stack.json("list", "members", "Rules list")}
    assert members["barbara@rules.example"]["last_name"] == "Liskov-Wing"


def test_a_suppression_removed_lets_the_address_in_on_the_next_run(
    stack: Stack, main_run: tuple[str, dict[str, Any]]
) -> None:
    sync_id, _ = main_run
    assert stack.json("suppress", "remove", "margaret@rules.example")["removed"] == 1
    full = stack.run_sync(sync_id, full=True)
    assert full["state"] == "succeeded"
    outcomes = by_record(stack.json("runs", "records", full["run_id"]))
    assert outcomes["300014"] == ("new", None)
    assert outcomes["300015"] == ("ignored", "bounced")
    assert full["ignored_by_reason"]["do_not_mail"] == 0


def test_sync_show_gives_the_detail_view(stack: Stack, main_run: tuple[str, dict[str, Any]]) -> None:
    sync_id, summary = main_run
    shown = stack.json("sync", "show", sync_id)
    assert shown["state"] == "active" and shown["state_reason"] is None
    assert shown["timezone"] == "UTC"
    assert shown["last_retrieval_at"] is not None and shown["last_retrieval_kind"] in ("full", "incremental")
    assert shown["next_due_at"] is not None
    assert shown["mapping"] == [
        {"from": "Email", "to": "email"},
        {"from": "First_Name", "to": "first_name"},
        {"from": "Last_Name", "to": "last_name"},
        *MAPPING,
    ]
    started = [run["started_at"] for run in shown["runs"]]
    assert started == sorted(started, reverse=True) and summary["run_id"] in {
        r["run_id"] for r in shown["runs"]
    }
    text = stack.run("sync", "show", sync_id).stdout
    for label in ("time zone", "last retrieval type", "next due", "runs (newest first)"):
        assert label in text, label


def test_records_without_an_id_or_not_objects_are_malformed_and_the_batch_goes_on(stack: Stack) -> None:
    """The simulator never serves such records, so the batch is published as the fetcher would."""
    run_id = str(uuid.uuid4())
    batch = RecordBatch(
        correlation_id=run_id,
        run_id=run_id,
        sync_id="hand-made",
        seq=0,
        module="Candidates",
        settings=ImportSettings(
            list_name="Hand-made list",
            options=Options(),
            mapping=[FieldMapping(**{"from": "First_Name", "to": "first_name"})],
            settings_version=1,
        ),
        records=[
            {"Email": "no.id@rules.example"},
            "not a record",
            ["a", "list"],
            {"id": "7", "Email": "ok@rules.example"},
        ],
    )
    asyncio.run(_publish(stack.amqp_url, batch))
    records: list[dict[str, Any]] = []
    for _ in range(60):
        shown = stack.run("runs", "records", run_id, "--json", check=False)
        if shown.returncode == 0 and len(records := json.loads(shown.stdout)) == 4:
            break
        asyncio.run(asyncio.sleep(0.5))
    assert [(r["record_id"], r["outcome"], r["reason"]) for r in records] == [
        (None, "ignored", "malformed: id missing"),
        (None, "ignored", "malformed: record is not an object"),
        (None, "ignored", "malformed: record is not an object"),
        ("7", "new", None),
    ]


async def _publish(amqp_url: str, event: RecordBatch) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange("recruit_sync.events")
        message = aio_pika.Message(
            event.model_dump_json().encode(),
            content_type="application/json",
            correlation_id=event.run_id,
            message_id=str(event.event_id),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=event.ROUTING_KEY)
    finally:
        await connection.close()
