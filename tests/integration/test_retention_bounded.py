"""Every table that grows with runs stays bounded over 100 runs (issue 10, item 6).

The runs go through the services' real handlers, in process, on one real database (the three schemas
migrated as ``recruit-sync migrate`` does): the scheduler starts a run and its outbox relay publishes the
SyncDue; history records it; the importer imports its batches (records as the fetcher would send them,
one email in two runs, a file duplicate in every run) and history records each BatchImported; the fetch
completes (every tenth run: fails, with a supersession left waiting), history's relay publishes
RunCompleted and the scheduler books it. Brokers are left out: the relays hand their events on.

Every age is tiny (one second; the journal keeps one second too, which the importer's claims may not
undercut), and every 20 runs, a little over a second after the last of them, each service's own prunes
run (``retention.prunes``, what its loop runs). Meanwhile another sync's run stays in flight and imports
one more batch just before each pass: it keeps all its rows throughout.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.envelope import Envelope, utc_now
from recruit_sync.contracts.events import (
    BatchImported,
    FetchCompleted,
    FetchFailed,
    RecordBatch,
    RunCompleted,
    RunState,
    SyncDue,
    caused_by,
)
from recruit_sync.contracts.ids import fetch_completed_id, record_batch_id
from recruit_sync.contracts.resources import CreateSync, NewConnection, RunSync
from recruit_sync.contracts.sync_spec import SyncSpec
from recruit_sync.history import handlers as history
from recruit_sync.history.app import SERVICE as HISTORY
from recruit_sync.history.store import retention as history_retention
from recruit_sync.importer import handlers as importer
from recruit_sync.importer.app import SERVICE as IMPORTER
from recruit_sync.importer.store import retention as importer_retention
from recruit_sync.runtime.db import create_pool, migrate
from recruit_sync.runtime.journal import Retention
from recruit_sync.runtime.outbox import OutboxRelay
from recruit_sync.runtime.retention import prune
from recruit_sync.runtime.settings import Settings
from recruit_sync.scheduler import retention as scheduler_retention
from recruit_sync.scheduler.app import SERVICE as SCHEDULER
from recruit_sync.scheduler.connections import add_connection
from recruit_sync.scheduler.deps import Deps
from recruit_sync.scheduler.runs import record_run_completed
from recruit_sync.scheduler.syncs import create_sync, run_sync

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUNS = 100
PASS_EVERY = 20
FAIL_EVERY = 10  # a run that fails leaves a supersession waiting for a batch history will not count
AGE = timedelta(seconds=1)
PAST_THE_AGE = 1.5  # seconds slept before a pass: every row of the runs before it is older than AGE
RECORDS = 30  # per run, in batches of 20 and 10
PEOPLE = 50  # addresses the runs draw from: a run's contacts are new, updated or unchanged

# what grows with runs, per service: (schema, table)
PRUNED = [
    ("scheduler", "inbox"),
    ("scheduler", "outbox"),
    ("importer", "run_emails"),
    ("importer", "imported_batches"),
    ("history", "batch_outcomes"),
    ("history", "run_batches"),
    ("history", "superseded"),
    ("history", "inbox"),
    ("history", "outbox"),
]
# kept on purpose: run summaries, credit spends (the 24-hour budget window counts them), the store
KEPT = [
    ("history", "runs"),
    ("scheduler", "credit_spend"),
    ("scheduler", "runs_in_flight"),
    ("importer", "contacts"),
    ("importer", "memberships"),
    ("importer", "record_links"),
]


@dataclasses.dataclass
class Pipeline:
    settings: Settings
    pools: dict[str, asyncpg.Pool]
    deps: Deps
    published: list[Envelope]
    history_relay: OutboxRelay

    async def start(self, sync_id: str) -> SyncDue:
        started = await run_sync(self.deps, RunSync(id=sync_id))
        assert started.started
        [due] = self._take(SyncDue)  # the scheduler's relay published it right after the commit
        assert isinstance(due, SyncDue) and due.run_id == started.run_id
        await history.start_run(due, pool=self.pools["history"])
        return due

    async def import_batch(self, due: SyncDue, seq: int, records: list[dict[str, Any]]) -> None:
        imported = await importer.import_batch(self.pools["importer"], self._batch(due, seq, records))
        await history.record_batch(imported, pool=self.pools["history"])

    async def record(self, imported: BatchImported) -> None:
        await history.record_batch(imported, pool=self.pools["history"])

    @staticmethod
    def _batch(due: SyncDue, seq: int, records: list[dict[str, Any]]) -> RecordBatch:
        return RecordBatch(
            event_id=record_batch_id(due.run_id, seq),
            **caused_by(due),
            seq=seq,
            module=due.module,
            settings=due.settings,
            records=records,
        )

    async def import_for_history_later(
        self, due: SyncDue, seq: int, records: list[dict[str, Any]]
    ) -> BatchImported:
        """The batch imported, its BatchImported not handed to history yet."""
        return await importer.import_batch(self.pools["importer"], self._batch(due, seq, records))

    async def fail(self, due: SyncDue) -> None:
        failed = FetchFailed(**caused_by(due), error="Recruit answered 500", api_calls=1, credits=1)
        assert await history.fail_fetch(failed, pool=self.pools["history"]) is not None
        await self._completed(RunState.FAILED)

    async def finish(self, due: SyncDue, batches: int, records: int) -> None:
        fetched = FetchCompleted(
            event_id=fetch_completed_id(due.run_id),
            **caused_by(due),
            batch_count=batches,
            record_count=records,
            api_calls=2,
            credits=2,
            started_at=due.occurred_at,
        )
        assert await history.complete_fetch(fetched, pool=self.pools["history"]) is not None
        await self._completed(RunState.SUCCEEDED)

    async def _completed(self, state: RunState) -> None:
        await self.history_relay.flush()
        [completed] = self._take(RunCompleted)
        assert isinstance(completed, RunCompleted) and completed.summary.state == state
        await record_run_completed(self.deps, completed)

    async def prune_every_service(self) -> dict[str, int]:
        pruned: dict[str, int] = {}
        for schema, prunes in [
            ("scheduler", scheduler_retention.prunes),
            ("importer", importer_retention.prunes),
            ("history", history_retention.prunes),
        ]:
            done = await prune(self.pools[schema], prunes(self.settings), utc_now())
            pruned |= {f"{schema}.{table}": rows for table, rows in done.items()}
        return pruned

    async def sizes(self, tables: list[tuple[str, str]]) -> dict[str, int]:
        pool = self.pools["history"]
        return {
            f"{schema}.{table}": await pool.fetchval(f'SELECT count(*) FROM "{schema}".{table}')
            for schema, table in tables
        }

    def _take(self, kind: type[Envelope]) -> list[Envelope]:
        taken = [event for event in self.published if isinstance(event, kind)]
        self.published[:] = [event for event in self.published if not isinstance(event, kind)]
        return taken


@pytest.fixture
async def pipeline(database_url: str) -> AsyncIterator[Pipeline]:
    settings = dataclasses.replace(
        Settings.from_env(),
        database_url=database_url,
        keep_outcomes=AGE,
        keep_bookkeeping=AGE,
        journal_retention=Retention("1s"),
    )
    pools = {}
    for service in (SCHEDULER, IMPORTER, HISTORY):
        assert service.migrations is not None
        await migrate(database_url, service.name, service.migrations)
        pools[service.name] = await create_pool(database_url, service.name, max_size=4)
    published: list[Envelope] = []

    async def publish(event: Envelope) -> None:
        published.append(event)

    deps = Deps(pool=pools["scheduler"], relay=OutboxRelay(pools["scheduler"], publish), settings=settings)
    try:
        yield Pipeline(settings, pools, deps, published, OutboxRelay(pools["history"], publish))
    finally:
        for pool in pools.values():
            await pool.close()


async def _sync(deps: Deps, name: str, list_name: str) -> str:
    spec = SyncSpec.model_validate({"name": name, "connection": "acme", "list": list_name})
    return (await create_sync(deps, CreateSync(spec=spec))).id


def _records(run: int) -> list[dict[str, Any]]:
    """Run ``run``'s records: candidates the runs share (a record id per candidate, as in Recruit), and a
    last one with the address of the first (a file duplicate: the later batch supersedes an outcome of
    the earlier one)."""
    people = [(run * 7 + i) % PEOPLE for i in range(RECORDS - 1)]
    records = [_candidate(f"c{p}", p, run) for p in people]
    return [*records, _candidate(f"d{people[0]}", people[0], run)]


def _candidate(record_id: str, person: int, run: int) -> dict[str, Any]:
    email = f"person{person}@example.com"
    return {"id": record_id, "Email": email, "First_Name": f"P{person}", "Last_Name": f"R{run % 3}"}


async def test_every_table_stays_bounded_over_100_runs(pipeline: Pipeline) -> None:
    connection = NewConnection.model_validate(
        {
            "name": "acme",
            "base_url": "https://recruit.zoho.com",
            "accounts_url": "https://accounts.zoho.com",
            "client_id": "cid",
            "client_secret": "secret",
            "refresh_token": "rt",
        }
    )
    await add_connection(pipeline.deps, connection)
    sync_id = await _sync(pipeline.deps, "IT graduates", "IT talent")
    long_run = await pipeline.start(await _sync(pipeline.deps, "A long one", "Long list"))
    long_batches = 0
    passes: list[tuple[int, dict[str, int], dict[str, int], dict[str, int]]] = []

    for run in range(1, RUNS + 1):
        due = await pipeline.start(sync_id)
        records = _records(run)
        if run % FAIL_EVERY:
            await pipeline.import_batch(due, 0, records[:20])
            await pipeline.import_batch(due, 1, records[20:])
            await pipeline.finish(due, batches=2, records=RECORDS)
        else:  # history gets the second batch only, naming an outcome of the first; then the fetch fails
            first = await pipeline.import_for_history_later(due, 0, records[:20])
            await pipeline.import_batch(due, 1, records[20:])
            await pipeline.fail(due)
            await pipeline.record(first)  # too late: the run is final, this changes nothing
        if run % PASS_EVERY == 0:
            await asyncio.sleep(PAST_THE_AGE)
            # the run in flight imports a batch: its newest batch is younger than the age
            people = range(1000 + 10 * long_batches, 1010 + 10 * long_batches)
            await pipeline.import_batch(
                long_run, long_batches, [{"id": f"L{p}", "Email": f"long{p}@example.com"} for p in people]
            )
            long_batches += 1
            before = await pipeline.sizes(PRUNED)
            pruned = await pipeline.prune_every_service()
            passes.append((run, before, pruned, await pipeline.sizes(PRUNED)))

    print()  # the closing note's figures: -s shows them
    for run, before, pruned, after in passes:
        print(f"after run {run}: before the pass {before}; pruned {pruned}; left {after}")
    kept = await pipeline.sizes(KEPT)
    print(f"kept after {RUNS} runs: {kept}")

    # before each pass: what the last 20 runs wrote (and the run in flight), the same every time
    assert all(before["history.batch_outcomes"] <= PASS_EVERY * 2 + 5 for _, before, _, _ in passes)
    # the two failed runs of each 20 left their supersessions waiting
    assert [before["history.superseded"] for _, before, _, _ in passes] == [PASS_EVERY // FAIL_EVERY] * len(
        passes
    )
    # after each pass: only the run in flight's rows, all of them, and the event it has just sent
    for number, (_, _, _, after) in enumerate(passes, start=1):
        assert after == {
            "scheduler.inbox": 0,
            "scheduler.outbox": 0,  # every SyncDue was sent, the run in flight's too, long ago
            "importer.run_emails": 0,  # the run in flight created its contacts: its claims are on them
            "importer.imported_batches": number,
            "history.batch_outcomes": number,
            "history.run_batches": number,
            "history.superseded": 0,
            "history.inbox": 1,  # the run in flight's last batch, just handled
            "history.outbox": 0,
        }
    claims_on_contacts = "SELECT count(*) FROM contacts WHERE created_run = $1"  # (importer migration 0009)
    assert await pipeline.pools["importer"].fetchval(claims_on_contacts, long_run.run_id) == 10 * len(passes)
    # each pass took what the 20 runs before it wrote (the first also the run in flight's SyncDue)
    for _, before, pruned, after in passes:
        assert {
            table: before[table] - after[table] for table in before if before[table] != after[table]
        } == pruned
    assert {table: rows for table, rows in kept.items() if table != "importer.record_links"} == {
        "history.runs": RUNS + 1,  # summaries are kept
        "scheduler.credit_spend": RUNS,  # within the budget's 24-hour window (pruned after 48 hours)
        "scheduler.runs_in_flight": 1,
        "importer.contacts": PEOPLE + 10 * len(passes),
        "importer.memberships": PEOPLE + 10 * len(passes),
    }
    assert kept["importer.record_links"] <= 2 * PEOPLE + 10 * len(passes)  # per record id, not per run
