"""Dry runs and previews on the real PostgreSQL and the real journal stream: a run decided again reproduces,
also after later runs changed the store; a rule change names the records it changes; the live store is
never written; a preview counts what a run would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from faststream.rabbit import RabbitBroker

from recruit_sync.contracts.envelope import utc_now
from recruit_sync.contracts.events import BatchImported, IgnoreReason, Outcome, RecordBatch
from recruit_sync.contracts.resources import DryRunRequest, NoArguments, PreviewBatch, Scratch, Suppress
from recruit_sync.contracts.resources import SuppressionReason as Reason
from recruit_sync.importer import email_rules, handlers
from recruit_sync.importer.app import MIGRATIONS
from recruit_sync.importer.scratch_runs import ScratchRuns
from recruit_sync.runtime.broker import publish_event
from recruit_sync.runtime.journal import Journal
from recruit_sync.runtime.rpc import RpcError

pytestmark = pytest.mark.integration

LIVE_TABLES = ("contacts", "memberships", "record_links", "suppressions", "run_emails", "imported_batches")


@pytest.fixture
def runs(database_url: str, amqp_url: str) -> ScratchRuns:
    return ScratchRuns(database_url, MIGRATIONS, Journal(amqp_url, quiet=0.5))


async def _run(
    pool: asyncpg.Pool, publisher: RabbitBroker, batches: list[RecordBatch]
) -> tuple[DryRunRequest, list[BatchImported]]:
    """Import ``batches`` as the importer does, journaling each batch and its BatchImported."""
    started = utc_now()
    imported = []
    for batch in batches:
        await publish_event(publisher, batch)
        event = await handlers.import_batch(pool, batch)
        await publish_event(publisher, event)
        imported.append(event)
    return DryRunRequest(run_id=batches[0].run_id, started_at=started, finished_at=utc_now()), imported


async def _live(pool: asyncpg.Pool) -> dict[str, Any]:
    """Every live table, whole, and the schemas there are."""
    state: dict[str, Any] = {}
    for table in LIVE_TABLES:
        state[table] = sorted(map(tuple, await pool.fetch(f"SELECT * FROM {table}")), key=repr)
    state["schemas"] = sorted(r["nspname"] for r in await pool.fetch("SELECT nspname FROM pg_namespace"))
    return state


async def test_runs_reproduce_after_later_runs_and_a_rule_change_names_the_records(
    pool: asyncpg.Pool,
    publisher: RabbitBroker,
    runs: ScratchRuns,
    sync: Any,
    record: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # run 1: new contacts, a role address, a file duplicate straddling two batches (the later record wins)
    first, _ = await _run(
        pool,
        publisher,
        [
            sync.batch(0, [record("1", "ann@x.co"), record("2", "jobs@x.co"), record("3", "dup@x.co")]),
            sync.batch(
                1, [record("4", "bob@x.co"), record("5", "dup@x.co", Updated_On="2030-01-01T00:00:00Z")]
            ),
        ],
    )
    # run 2, after a suppression: ann updated, bob unchanged, dup suppressed, a new one
    await handlers.suppress_add(pool, Suppress(reason=Reason.DO_NOT_MAIL, emails=["dup@x.co"]))
    sync.new_run()
    second, imported = await _run(
        pool,
        publisher,
        [
            sync.batch(
                0,
                [
                    record("1", "ann@x.co", Last_Name="Smith"),
                    record("4", "bob@x.co"),
                    record("5", "dup@x.co"),
                    record("6", "cat@x.co"),
                ],
            )
        ],
    )
    assert [o.outcome for o in imported[0].outcomes] == ["updated", "unchanged", "ignored", "new"]
    # run 3 changes the store under both: bob leaves by a deletion... (here: bob renamed)
    sync.new_run()
    await _run(pool, publisher, [sync.batch(0, [record("4", "bob@x.co", First_Name="Robert")])])

    before = await _live(pool)
    for request in (first, second, first):  # run after run
        dry = await runs.dry_run(request)
        assert dry.differences == [], dry.differences
        assert dry.recorded == dry.replayed
    assert (await runs.dry_run(first)).recorded.model_dump() | {"ignored_by_reason": None} == {
        "total": 5,
        "new": 3,
        "re_added": 0,
        "duplicate": 0,
        "updated": 0,
        "unchanged": 0,
        "ignored": 2,
        "ignored_by_reason": None,
        "deleted": 0,
    }
    assert await _live(pool) == before  # nothing live written, no scratch left

    # a rule change: "ann" becomes a role word; today's code refuses her in both runs
    monkeypatch.setattr(email_rules, "ROLE_LOCAL_PARTS", email_rules.ROLE_LOCAL_PARTS | {"ann"})
    changed = await runs.dry_run(second)
    assert [d.model_dump(exclude_none=True) for d in changed.differences] == [
        {
            "record_id": "1",
            "email": "ann@x.co",
            "recorded": Outcome.UPDATED,
            "replayed": Outcome.IGNORED,
            "replayed_reason": IgnoreReason.ROLE_ADDRESS,
        }
    ]
    assert changed.differences_total == 1
    assert (changed.recorded.updated, changed.replayed.updated) == (1, 0)
    assert changed.replayed.ignored_by_reason[IgnoreReason.ROLE_ADDRESS] == 1
    assert await _live(pool) == before


async def test_a_run_whose_events_left_the_journal_is_refused_naming_the_retention(
    pool: asyncpg.Pool, publisher: RabbitBroker, runs: ScratchRuns, sync: Any
) -> None:
    request = DryRunRequest(run_id=sync.run_id, started_at=utc_now())
    with pytest.raises(RpcError) as refused:
        await runs.dry_run(request)
    assert refused.value.status == 410
    assert str(refused.value) == (
        f"run {sync.run_id} has left the journal (it keeps events for 7 days, up to 2 GiB)"
    )


async def test_a_preview_counts_what_a_run_would_and_writes_nothing(
    pool: asyncpg.Pool,
    publisher: RabbitBroker,
    runs: ScratchRuns,
    sync: Any,
    record: Callable[..., dict[str, Any]],
) -> None:
    await _run(pool, publisher, [sync.batch(0, [record("1", "ann@x.co"), record("2", "bob@x.co")])])
    await handlers.suppress_add(pool, Suppress(reason=Reason.BOUNCED, emails=["bob@x.co"]))
    before = await _live(pool)

    sync.new_run()
    scratch = await runs.preview_open(NoArguments())
    batches = [
        sync.batch(
            0, [record("1", "ann@x.co", Last_Name="Smith"), record("2", "bob@x.co"), record("3", "c@x.co")]
        ),
        sync.batch(1, [record("7", "c@x.co", Updated_On="2030-01-01T00:00:00Z"), record("8", "info@x.co")]),
    ]
    for batch in batches:
        await runs.preview_batch(PreviewBatch(scratch=scratch.scratch, batch=batch))
    preview = await runs.preview_close(scratch)

    counts = preview.summary
    assert (counts.total, counts.updated, counts.new, counts.ignored) == (5, 1, 1, 3)
    assert counts.ignored_by_reason[IgnoreReason.BOUNCED] == 1
    assert counts.ignored_by_reason[IgnoreReason.FILE_DUPLICATE] == 1  # record 3, displaced by 7
    assert counts.ignored_by_reason[IgnoreReason.ROLE_ADDRESS] == 1
    samples = {o: [(s.record_id, s.reason) for s in items] for o, items in preview.samples.items() if items}
    assert samples == {
        Outcome.UPDATED: [("1", None)],
        Outcome.NEW: [("7", None)],
        Outcome.IGNORED: [
            ("2", IgnoreReason.BOUNCED),
            ("3", IgnoreReason.FILE_DUPLICATE),
            ("8", IgnoreReason.ROLE_ADDRESS),
        ],
    }
    assert await _live(pool) == before
    with pytest.raises(RpcError, match="no scratch store") as gone:
        await runs.preview_batch(PreviewBatch(scratch=scratch.scratch, batch=batches[0]))
    assert gone.value.status == 404
    with pytest.raises(RpcError):
        await runs.preview_close(Scratch(scratch=scratch.scratch))
