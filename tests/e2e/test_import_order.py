"""File duplicates are decided the same whatever the batch order and the number of importer replicas
(SPEC section 5, docs/adr/0007): three importer processes taking batches of seven records, with most
duplicated emails straddling batches (data/import_order.json), give the same counts, the same
per-record outcomes and the same list contents, run after run, as one importer does; and every email
keeps the fields of its most recently modified record (``Updated_On``; ties: the larger id).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack, counts_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parent / "data" / "import_order.json"
SMALL_BATCHES = {"RECRUIT_SYNC_BATCH_SIZE": "7"}


def stack_with(tmp_path_factory: pytest.TempPathFactory, replicas: int) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"order{replicas}")
    with Stack(workdir, sim_data=str(DATA), replicas=replicas, extra_env=SMALL_BATCHES) as running:
        running.add_connection()
        yield running


@pytest.fixture(scope="module")
def one_importer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from stack_with(tmp_path_factory, 1)


@pytest.fixture(scope="module")
def three_importers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from stack_with(tmp_path_factory, 3)


def import_into(stack: Stack, list_name: str) -> tuple[dict[str, Any], list[Any], list[dict[str, Any]]]:
    """A new sync of every candidate into ``list_name``: (counts, per-record outcomes, list members)."""
    sync_id = stack.create_sync(
        {
            "name": list_name,
            "connection": "acme-recruit",
            "list": list_name,
            "options": {"exclude_opt_out": True},
        }
    )
    summary = stack.run_sync(sync_id)
    assert summary["state"] == "succeeded", (summary, stack.logs()[-4000:])
    records = stack.json("runs", "records", summary["run_id"])
    outcomes = sorted((r["record_id"], r["outcome"], r["reason"]) for r in records)
    return counts_of(summary), outcomes, stack.json("list", "members", list_name)


def most_recent_records() -> dict[str, dict[str, Any]]:
    """Email -> the record whose fields the contact must carry (the oracle, from the data file)."""
    winners: dict[str, dict[str, Any]] = {}
    for record in json.loads(DATA.read_text())["modules"]["Candidates"]:
        email = record["Email"].lower()
        if not email.startswith("dup"):
            continue
        rank = (datetime.fromisoformat(record["Updated_On"]), int(record["id"]))
        best = winners.get(email)
        if best is None or rank > (datetime.fromisoformat(best["Updated_On"]), int(best["id"])):
            winners[email] = record
    return winners


def test_three_importers_agree_with_one_run_after_run(one_importer: Stack, three_importers: Stack) -> None:
    counts, outcomes, members = import_into(one_importer, "Order 1")
    winners = most_recent_records()
    assert counts["total"] == 57 and counts["ignored_by_reason"]["file_duplicate"] == 57 - 2 - len(winners)
    placed = {m["email"].lower(): m for m in members}
    for email, winner in winners.items():
        outcome = {record_id: (o, reason) for record_id, o, reason in outcomes}[winner["id"]]
        if winner["Email_Opt_Out"]:
            assert outcome == ("ignored", "opt_out") and email not in placed
        else:
            assert outcome == ("new", None)
            assert placed[email]["first_name"] == winner["First_Name"], email

    assert import_into(three_importers, "Order 1") == (counts, outcomes, members)
    # later runs into new lists meet the contacts the first one made: duplicates, the same every time
    later = [import_into(three_importers, f"Order {n}") for n in (2, 3)]
    assert later[0][0]["duplicate"] == len(placed)
    assert later[1] == later[0]
    assert all(run_members == members for _, _, run_members in later)
    assert import_into(one_importer, "Order 2") == later[0]
