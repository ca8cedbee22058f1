"""Reading ahead (docs/adr/0025): a batch reads its facts and decides while the batch before it holds
its list's turn; under the lock it uses them only if they still hold, else it reads them again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from recruit_sync.contracts.events import BatchImported, Displacement, Superseded
from recruit_sync.importer import handlers
from recruit_sync.importer.ahead import ReadAhead, Turn, Verdict, list_verdict
from recruit_sync.importer.decide import DECIDE_SLICE, Decision
from recruit_sync.importer.facts import Facts
from recruit_sync.importer.store import facts as store_facts


def ahead(version: int, before: Turn | None, keys: set[str], record_ids: set[str]) -> ReadAhead:
    return ReadAhead(1, version, before, {}, Decision(), frozenset(keys), frozenset(record_ids))


def test_read_ahead_holds_while_no_batch_or_only_the_one_holding_the_turn_wrote_other_emails() -> None:
    holder = Turn(keys=frozenset({"a@x.org"}), record_ids=frozenset({"1"}))
    mine = {"b@x.org"}, {"2"}
    assert list_verdict(ahead(5, None, *mine), 5, uuid.uuid4()) is Verdict.HOLDS  # none applied since
    assert list_verdict(ahead(5, holder, *mine), 6, holder.writer) is Verdict.HOLDS
    assert list_verdict(ahead(5, holder, *mine), 5, None) is Verdict.HOLDS  # the holder wrote nothing


@pytest.mark.parametrize(
    ("version_then", "writer", "keys", "record_ids"),
    [
        (6, "holder", {"a@x.org"}, {"2"}),  # the holder wrote one of the same emails
        (6, "holder", {"b@x.org"}, {"1"}),  # ... or one of the same records
        (6, "other", {"b@x.org"}, {"2"}),  # another process's batch of the list
        (7, "holder", {"b@x.org"}, {"2"}),  # two batches
        (4, "holder", {"b@x.org"}, {"2"}),  # (a version going back is not trusted either)
    ],
)
def test_read_ahead_does_not_hold_after_any_other_write_to_the_list(
    version_then: int, writer: str, keys: set[str], record_ids: set[str]
) -> None:
    holder = Turn(keys=frozenset({"a@x.org"}), record_ids=frozenset({"1"}))
    found = holder.writer if writer == "holder" else uuid.uuid4()
    assert list_verdict(ahead(5, holder, keys, record_ids), version_then, found) is Verdict.LIST_CHANGED
    assert list_verdict(ahead(5, None, {"b@x.org"}, {"2"}), 6, holder.writer) is Verdict.LIST_CHANGED


async def test_the_next_batch_reads_ahead_while_one_holds_the_turn_and_the_one_after_waits() -> None:
    turns = handlers.ListTurns()
    events: list[str] = []
    release = {name: asyncio.Event() for name in ("first", "second", "third")}
    seen: dict[str, Turn | None] = {}

    async def batch(name: str) -> None:
        async def read_ahead(before: Turn | None) -> None:
            seen[name] = before
            events.append(f"{name} reads")

        async with turns.turn("L", read_ahead) as turn:
            events.append(f"{name} holds")
            seen[f"{name} turn"] = turn
            await release[name].wait()

    async def settle() -> None:
        for _ in range(10):
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(batch(name)) for name in ("first", "second", "third")]
    await settle()
    assert events == ["first reads", "first holds", "second reads"]  # the third waits for the second
    assert seen["first"] is None and seen["second"] is seen["first turn"]
    release["first"].set()
    await settle()
    assert events[3:] == ["second holds", "third reads"]
    assert seen["third"] is seen["second turn"]
    release["second"].set(), release["third"].set()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert events[5:] == ["third holds"]
    assert len(turns) == 0


async def test_deciding_ahead_lets_the_event_loop_run_between_slices(sync: Any, record: Any) -> None:
    """The batch holding the turn waits on PostgreSQL's answers in the same event loop: deciding the
    next batch gives the loop back after every slice, so those answers are not kept waiting."""
    batch = sync.batch(0, [record(str(i), f"p{i}@example.com") for i in range(3 * DECIDE_SLICE)])
    parsed = await handlers.parse_batch(batch)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    ticks = 0
    decision = await handlers._decide_in_slices(batch, parsed, Facts())
    ticking.cancel()
    assert len(decision.outcomes) == 3 * DECIDE_SLICE
    assert ticks >= 3  # the loop ran between the slices


# --------------------------------------------------------------------------------- on a real database


def verdicts() -> dict[str, float]:
    return {
        v.value: REGISTRY.get_sample_value("recruit_sync_importer_read_ahead_total", {"verdict": v.value})
        or 0
        for v in Verdict
    }


@asynccontextmanager
async def turn_held(turns: handlers.ListTurns, list_name: str) -> AsyncIterator[None]:
    """Hold the list's turn (as a batch before would) until the block ends."""
    held, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with turns.turn(list_name):
            held.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await held.wait()
    try:
        yield
    finally:
        release.set()
        await task


async def importing_behind_the_turn(
    pool: asyncpg.Pool, turns: handlers.ListTurns, batch: Any
) -> asyncio.Task[BatchImported]:
    task = asyncio.create_task(handlers.import_batch(pool, batch, turns))
    await asyncio.sleep(0.5)  # it has read ahead by now, and waits for the turn
    assert not task.done()
    return task


def summary(event: BatchImported) -> list[tuple[str | None, str]]:
    return [(o.record_id, o.outcome.value) for o in event.outcomes]


@pytest.mark.integration
async def test_a_contact_another_list_changed_after_the_read_ahead_is_read_again(
    pool: asyncpg.Pool, make_sync: Any, record: Any
) -> None:
    """Read ahead, Jane's contact matched the record (``unchanged``); another list's batch renamed her
    before the turn came: the stamps differ, the facts are read again, and the record ``updated``."""
    ours, theirs = make_sync("IT talent"), make_sync("Hot leads")
    await handlers.import_batch(pool, ours.batch(0, [record("1", "jane@example.com", "Jane", "Doe")]))
    ours.new_run()
    turns, before = handlers.ListTurns(), verdicts()
    async with turn_held(turns, "IT talent"):
        task = await importing_behind_the_turn(
            pool, turns, ours.batch(0, [record("1", "jane@example.com", "Jane", "Doe")])
        )
        renamed = await handlers.import_batch(
            pool, theirs.batch(0, [record("7", "jane@example.com", "Janet", "Doe")]), turns
        )
        assert summary(renamed) == [("7", "duplicate")]
    event = await asyncio.wait_for(task, 10)
    assert summary(event) == [("1", "updated")]
    assert verdicts()["contacts_changed"] == before["contacts_changed"] + 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT first_name FROM contacts") == "Jane"


@pytest.mark.integration
async def test_a_batch_another_importer_applied_after_the_read_ahead_makes_it_read_again(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    """Jane is in batches 0 and 1 of a run, batch 1's record the more recent. Batch 1 read ahead before
    another importer process applied batch 0: the list's version moved under another writer, so batch 1
    reads again, finds batch 0's claim and takes it over (batch 0's outcome becomes a file duplicate)."""
    here, elsewhere = handlers.ListTurns(), handlers.ListTurns()
    before = verdicts()
    older = record("1", "jane@example.com", Modified_Time="2026-10-01T10:00:00+00:00")
    newer = record("2", "jane@example.com", "Janet", Modified_Time="2026-10-02T10:00:00+00:00")
    async with turn_held(here, sync.settings.list_name):
        task = await importing_behind_the_turn(pool, here, sync.batch(1, [newer]))
        first = await handlers.import_batch(pool, sync.batch(0, [older]), elsewhere)
        assert summary(first) == [("1", "new")]
    event = await asyncio.wait_for(task, 10)
    assert summary(event) == [("2", "new")]
    assert event.superseded == [Superseded(seq=0, position=0, by=0, becomes=Displacement.FILE_DUPLICATE)]
    assert verdicts()["list_changed"] == before["list_changed"] + 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT first_name FROM contacts") == "Janet"
        assert await conn.fetchval("SELECT version FROM lists") == 2


@pytest.mark.integration
async def test_a_first_import_uses_what_it_read_ahead(pool: asyncpg.Pool, sync: Any, record: Any) -> None:
    before = verdicts()
    turns = handlers.ListTurns()
    batches = [
        sync.batch(seq, [record(f"{seq}-{i}", f"p{seq}.{i}@example.com") for i in range(20)])
        for seq in range(4)
    ]
    events = await asyncio.gather(*(handlers.import_batch(pool, b, turns) for b in batches))
    assert [o.outcome.value for e in events for o in e.outcomes] == ["new"] * 80
    assert verdicts()["holds"] == before["holds"] + 4


@pytest.mark.integration
async def test_only_the_batch_next_in_line_is_parsed_while_the_others_wait(
    pool: asyncpg.Pool, sync: Any, record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parsed record holds half as much again as the decoded one: batches further back in the line
    keep only the message until their turn is next (what bounds the importer's memory, ADR 0026)."""
    parsed: list[int] = []
    parse = handlers.parse_batch

    async def counting(batch: Any) -> Any:
        parsed.append(batch.seq)
        return await parse(batch)

    monkeypatch.setattr(handlers, "parse_batch", counting)
    turns = handlers.ListTurns()
    batches = [sync.batch(seq, [record(f"{seq}", f"p{seq}@example.com")]) for seq in range(2)]
    async with turn_held(turns, sync.settings.list_name):
        second = await importing_behind_the_turn(pool, turns, batches[0])
        third = asyncio.create_task(handlers.import_batch(pool, batches[1], turns))
        await asyncio.sleep(0.5)
        assert parsed == [0]  # the third in line waits, unparsed, for the second to take the turn
    events = await asyncio.wait_for(asyncio.gather(second, third), 10)
    assert parsed == [0, 1]
    assert [summary(e) for e in events] == [[("0", "new")], [("1", "new")]]


@pytest.mark.integration
@pytest.mark.parametrize("statement", ["_FACTS_AHEAD", "_FACTS_LOCKED"])
async def test_the_facts_query_probes_contacts_by_key_and_never_scans_the_table(
    pool: asyncpg.Pool, statement: str
) -> None:
    """Unlocked, the contacts subquery is flattened into a join unless something stops it, and on a
    table not analysed yet (a first import) the planner then hashes all of contacts for every batch:
    a 200,000-record sync read 11.5 million rows that way."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO contacts (email_key, email, first_name, last_name, fields)"
            " SELECT 'p' || i || '@example.com', 'p' || i || '@example.com', 'P', 'Q', '{}'"
            " FROM generate_series(1, 20000) AS i"
        )
        keys = [f"p{i}@example.com" for i in range(1, 20001, 20)]
        rows = await conn.fetch("EXPLAIN " + getattr(store_facts, statement), keys, 1, "run")
    plan = "\n".join(r[0] for r in rows)
    assert "Index Scan using contacts_pkey on contacts" in plan, plan
    assert "Seq Scan on contacts" not in plan, plan
