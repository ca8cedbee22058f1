"""File duplicates straddling batches: whatever order the batches of a run are applied in, one after the
other or concurrently, the contact store ends up the same and every email goes to its most recent record.

Each BatchImported names the earlier outcomes of the run its records displace (``superseded``);
``settled`` applies them to the published outcomes as history does, and the result must be the same
for every order: one outcome past check 4 holds each email, the others are file duplicates, and a
deletion a live record undid is gone.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.events import (
    BatchImported,
    Displacement,
    IgnoreReason,
    Outcome,
    RecordBatch,
    RecordOutcome,
)
from recruit_sync.importer import handlers
from recruit_sync.importer.claims import recency

pytestmark = pytest.mark.integration

BATCH_SIZE = 7
HOLDING_REASONS = {
    IgnoreReason.OPT_OUT,
    IgnoreReason.CONVERTED,
    IgnoreReason.DO_NOT_MAIL,
    IgnoreReason.BOUNCED,
}
EARLIER = datetime(2026, 9, 1, tzinfo=UTC)
TABLES = (
    "contacts",
    "lists",
    "memberships",
    "record_links",
    "suppressions",
    "run_emails",
    "imported_batches",
)


def email(i: int) -> str:
    return f"person{i}@example.com"


def run_records(rng: random.Random) -> list[Any]:
    """1-3 records per email (ids and times shuffled, so the winner is not the first or the last),
    some opted out or converted, plus records checks 1-3 refuse. Emails 7-9 have none: deleted."""
    records: list[Any] = []
    next_id = 500
    for i in (i for i in range(40) if i not in (7, 8, 9)):
        for _ in range(rng.choice((1, 1, 2, 3))):
            next_id += rng.randint(1, 9)
            day = rng.choice((1, 2, 2, 3))  # ties on the time: the larger id wins
            records.append(
                {
                    "id": str(next_id),
                    "Email": email(i).upper() if rng.random() < 0.3 else email(i),
                    "First_Name": f"F{next_id}",
                    "Last_Name": "Run",
                    "Current_Employer": rng.choice(("Zylker", "Acme", None)),
                    "Email_Opt_Out": rng.random() < 0.1,
                    "$converted": rng.random() < 0.1,
                    "Updated_On": f"2026-10-0{day}T10:00:00+05:30",
                }
            )
    records += [{"id": "900", "Email": ""}, {"id": "901", "Email": "info@example.com"}, "broken"]
    rng.shuffle(records)
    return records


async def seed(pool: asyncpg.Pool) -> None:
    """The store before the run: 0-19 on the list (added by the sync), 20-29 on another list, 30-34
    removed from the organisation, 35 on the do-not-mail registry; records D5-D9 placed 5-9."""
    async with pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        await conn.execute("INSERT INTO lists (name) VALUES ('IT talent'), ('Elsewhere')")
        for i in range(35):
            deleted = EARLIER if i >= 30 else None
            await conn.execute(
                "INSERT INTO contacts (email_key, email, first_name, last_name, fields, deleted_at) "
                "VALUES ($1, $1, 'Old', 'Seed', '{\"company\": \"Seed\"}', $2)",
                email(i),
                deleted,
            )
            if i < 30:
                list_id, sync_id = (1, "sync-1") if i < 20 else (2, "another-sync")
                await conn.execute(
                    "INSERT INTO memberships (list_id, email_key, sync_id, record_id, added_at, "
                    "settings_version) VALUES ($1, $2, $3, $4, $5, 1)",
                    list_id,
                    email(i),
                    sync_id,
                    f"D{i}",
                    EARLIER,
                )
        for i in range(5, 10):
            await conn.execute("INSERT INTO record_links VALUES ($1, 'Candidates', $2)", f"D{i}", email(i))
        await conn.execute(
            "INSERT INTO suppressions (email_key, email, reason) VALUES ($1, $1, 'do_not_mail')", email(35)
        )


def batches(sync: Any, records: list[Any]) -> list[RecordBatch]:
    slices = [records[i : i + BATCH_SIZE] for i in range(0, len(records), BATCH_SIZE)]
    made = [sync.batch(seq, part) for seq, part in enumerate(slices)]
    made.append(sync.batch(len(made), [], deleted=[f"D{i}" for i in range(5, 10)]))
    return made


async def state(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    async with pool.acquire() as conn:
        return {
            "contacts": sorted(
                tuple(r)
                for r in await conn.fetch(
                    "SELECT email_key, email, first_name, last_name, fields::text, deleted_at IS NULL "
                    "FROM contacts"
                )
            ),
            # added_at of a membership made during the run is the time it was made; others are kept
            "memberships": sorted(
                tuple(r)
                for r in await conn.fetch(
                    "SELECT list_id, email_key, sync_id, record_id, "
                    "CASE WHEN added_at = $1 THEN 'seeded' ELSE 'this run' END FROM memberships",
                    EARLIER,
                )
            ),
            "record_links": sorted(tuple(r) for r in await conn.fetch("SELECT * FROM record_links")),
        }


def holds(outcome: RecordOutcome) -> bool:
    """Past check 4: the outcome holds its email for the run (a deletion acted on holds it too)."""
    return outcome.outcome is not Outcome.IGNORED or outcome.reason in HOLDING_REASONS


def settled(events: list[BatchImported], rng: random.Random) -> list[tuple[str | None, str, str | None]]:
    """Every record's outcome once each batch's ``superseded`` is applied, in any order (as history
    may receive the batches), checking that each names an outcome that held the email."""
    outcomes = {(e.seq, i): o for e in events for i, o in enumerate(e.outcomes)}
    displaced = [(e, s) for e in events for s in e.superseded]
    rng.shuffle(displaced)
    for event, superseded in displaced:
        target = outcomes.pop((superseded.seq, superseded.position))  # (named at most once)
        by = event.outcomes[superseded.by]
        assert holds(target) and holds(by) and by.outcome is not Outcome.DELETED
        assert (target.email or "").lower() == (by.email or "").lower()
        assert (target.outcome is Outcome.DELETED) == (superseded.becomes is Displacement.VOID)
        if superseded.becomes is Displacement.FILE_DUPLICATE:
            outcomes[(superseded.seq, superseded.position)] = target.model_copy(
                update={"outcome": Outcome.IGNORED, "reason": IgnoreReason.FILE_DUPLICATE}
            )
    holders = [(o.email or "").lower() for o in outcomes.values() if holds(o)]
    assert len(holders) == len(set(holders)), "an email is held by two outcomes"
    result = [(o.record_id, o.outcome.value, o.reason_text) for o in outcomes.values()]
    return sorted(result, key=lambda r: (r[0] or "", r[1], r[2] or ""))


async def import_in_order(
    pool: asyncpg.Pool, made: list[RecordBatch], concurrent: bool
) -> list[BatchImported]:
    await seed(pool)
    if concurrent:  # as several importer processes would: they queue on the list's lock in any order
        return list(
            await asyncio.wait_for(asyncio.gather(*(handlers.import_batch(pool, b) for b in made)), 60)
        )
    return [await handlers.import_batch(pool, b) for b in made]


async def test_any_batch_order_gives_the_same_store_and_outcomes(pool: asyncpg.Pool, make_sync: Any) -> None:
    rng = random.Random(20261127)
    records = run_records(rng)
    sync = make_sync(
        sync_id="sync-1", exclude_opt_out=True, exclude_converted=True, on_recruit_delete="remove_from_list"
    )
    made = batches(sync, records)
    results = []
    for attempt in range(6):
        order = list(made)
        rng.shuffle(order)
        events = await import_in_order(pool, order, concurrent=attempt % 2 == 1)
        results.append((await state(pool), settled(events, rng)))
        sync.new_run()
        made = [b.model_copy(update={"run_id": sync.run_id, "correlation_id": sync.run_id}) for b in made]

    first_state, first_outcomes = results[0]
    for other_state, other_outcomes in results[1:]:
        assert other_state == first_state
        assert other_outcomes == first_outcomes

    # every email went to its most recent record: its fields are on the contact (unless refused)
    by_email: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if isinstance(record, dict) and record["id"] not in ("900", "901"):
            by_email.setdefault(record["Email"].lower(), []).append(record)
    names = {row[0]: row[2] for row in first_state["contacts"]}
    outcome_of = {record_id: (outcome, reason) for record_id, outcome, reason in first_outcomes}
    for key, group in by_email.items():
        winner = max(group, key=lambda r: recency(r["id"], datetime.fromisoformat(r["Updated_On"])))
        assert all(outcome_of[r["id"]] == ("ignored", "file_duplicate") for r in group if r is not winner)
        if outcome_of[winner["id"]][0] != "ignored":
            assert names[key] == winner["First_Name"], key
    # deletions: 5 and 6 have live records in the run (nothing deleted), 7-9 do not
    deleted = sorted(record_id or "" for record_id, outcome, _ in first_outcomes if outcome == "deleted")
    assert deleted == sorted(f"D{i}" for i in range(5, 10) if email(i) not in by_email)
    assert len(first_outcomes) == len(records) + len(deleted)
