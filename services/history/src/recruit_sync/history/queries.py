"""History's RPC operations (``contracts.rpc``): runs, per-record outcomes, explain, replay.

Requests arrive validated as their ``contracts.resources`` models; answers are the contract's models,
with a record's ``reason`` rendered as INTERFACE.md shows it (``RecordOutcome.reason_text``). Replay
reads the journal stream rather than the database (docs/adr/0019).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from recruit_sync.contracts import rpc
from recruit_sync.contracts.events import RecordOutcome, RunSummary
from recruit_sync.contracts.resources import (
    EmailQuery,
    ExplainRow,
    RecordRow,
    RecordsQuery,
    Replay,
    RunRef,
    RunsOfSync,
)
from recruit_sync.history.replay import RunReplay
from recruit_sync.history.store import Conn
from recruit_sync.history.store.outcomes import EmailOutcome, outcomes_for_email, run_records
from recruit_sync.history.store.runs import get_run, list_runs, summary_of
from recruit_sync.runtime.journal import Journal
from recruit_sync.runtime.rpc import RpcError, Served, serve


@dataclass(frozen=True)
class Queries:
    """The operations on one pool (and the journal, for replay); ``served`` pairs each with its contract
    for the RPC queue."""

    pool: asyncpg.Pool
    journal: Journal

    def served(self) -> Sequence[Served]:
        return (
            serve(rpc.RUNS_LIST, self.runs_of_sync),
            serve(rpc.RUNS_GET, self.run),
            serve(rpc.RUNS_RECORDS, self.records),
            serve(rpc.EXPLAIN, self.explain),
            serve(rpc.RUNS_REPLAY, self.replay),
        )

    async def runs_of_sync(self, request: RunsOfSync) -> list[RunSummary]:
        async with self.pool.acquire() as conn:
            rows = await list_runs(conn, request.sync_id)
        return [summary_of(row) for row in rows]

    async def run(self, request: RunRef) -> RunSummary:
        async with self.pool.acquire() as conn:
            return summary_of(await _existing_run(conn, request.run_id))

    async def records(self, request: RecordsQuery) -> list[RecordRow]:
        async with self.pool.acquire() as conn:
            await _existing_run(conn, request.run_id)
            items = await run_records(conn, request.run_id, request.outcome, request.limit, request.offset)
        return [_record_row(item) for item in items]

    async def explain(self, request: EmailQuery) -> list[ExplainRow]:
        async with self.pool.acquire() as conn:
            found = await outcomes_for_email(conn, request.email)
        return [_explain_row(row) for row in found]

    async def replay(self, request: RunRef) -> Replay:
        """The run's events from the journal and whether they add up to what history recorded; 410 for a
        run none of whose events the journal holds any more, 504 if reading them takes too long."""
        async with self.pool.acquire() as conn:
            row = await _existing_run(conn, request.run_id)
        recorded = summary_of(row)
        replay = RunReplay(request.run_id)
        started = row["started_at"] or row["created_at"]
        try:
            found = await self.journal.read_run(request.run_id, started, row["finished_at"], replay.add)
        except TimeoutError:
            raise RpcError(
                f"reading run {request.run_id}'s events from the journal took more than "
                f"{self.journal.timeout:g} s",
                504,
            ) from None
        if not found:
            raise RpcError(await self.journal.left(request.run_id), 410)
        return replay.verdict(recorded)


async def _existing_run(conn: Conn, run_id: str) -> asyncpg.Record:
    row = await get_run(conn, run_id)
    if row is None:
        raise RpcError(f"no run {run_id!r}", 404)
    return row


def _record_row(item: RecordOutcome) -> RecordRow:
    return RecordRow(
        record_id=item.record_id, email=item.email, outcome=item.outcome, reason=item.reason_text
    )


def _explain_row(found: EmailOutcome) -> ExplainRow:
    item = found.outcome
    return ExplainRow(
        run_id=found.run_id,
        sync_id=found.sync_id,
        record_id=item.record_id,
        outcome=item.outcome,
        reason=item.reason_text,
        at=found.at,
    )
