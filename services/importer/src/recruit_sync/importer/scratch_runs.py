"""Dry runs and previews: batches decided by today's code in a scratch store, never the live one
(docs/adr/0020).

* ``dry_run``: a recorded run's batches, read back from the journal, are decided again (the same
  ``handlers.decide_and_apply`` a live batch goes through) against the store as the run found it
  (``store.scratch.seed_as_found``), and the outcomes compared with those the run published.
* ``preview_open`` / ``preview_batch`` / ``preview_close``: the fetcher fetches a sync as a run would and
  hands each batch here; they are decided against the store as it is now, and the summary and samples are
  what ``close`` answers before dropping the scratch.

Both hold little: the journal's batches wait in a temporary file (``_Spool``) while the outcomes are
counted (``dry_run.RunOutcomes``), so a 200,000-record run is replayed in constant memory.
"""

from __future__ import annotations

import contextlib
import struct
import tempfile
from collections.abc import AsyncGenerator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import asyncpg
import structlog

from recruit_sync.contracts.counts import Counted
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import BatchImported, Outcome, Outcomes, RecordBatch, Superseded
from recruit_sync.contracts.resources import (
    MAX_DIFFERENCES,
    PREVIEW_SAMPLES,
    DryRun,
    DryRunRequest,
    NoArguments,
    OutcomeDifference,
    PreviewBatch,
    PreviewOutcomes,
    Sample,
    Scratch,
)
from recruit_sync.importer.dry_run import Difference, RunOutcomes, differences
from recruit_sync.importer.handlers import decide_and_apply, parse_batch
from recruit_sync.importer.parse import records_to_look_up
from recruit_sync.importer.store import scratch
from recruit_sync.importer.store.batches import stored_outcomes, stored_supersessions
from recruit_sync.runtime.db import connect
from recruit_sync.runtime.journal import Journal
from recruit_sync.runtime.rpc import RpcError

log = structlog.get_logger()

JOURNAL_READ_TIMEOUT = 300.0  # seconds to read a run back from the journal (a 200,000-record run: a few)


@dataclass(frozen=True)
class ScratchRuns:
    dsn: str
    migrations: Path
    journal: Journal

    # --- replay RUN_ID --dry-run ----------------------------------------------------------------------

    async def dry_run(self, request: DryRunRequest) -> DryRun:
        run_id = request.run_id
        with _Spool() as spool:

            def take(event: Envelope) -> None:
                match event:
                    case RecordBatch():
                        spool.add(event)
                    case BatchImported():
                        spool.recorded.add(event)

            try:
                found = await self.journal.read_run(run_id, request.started_at, request.finished_at, take)
            except TimeoutError:
                raise RpcError(
                    f"reading run {run_id}'s events from the journal took more than "
                    f"{self.journal.timeout:g} s",
                    504,
                ) from None
            if not found:
                raise RpcError(await self.journal.left(run_id), 410)
            replayed, named = await self._replay(run_id, spool)
        log.info("dry run", run_id=run_id, batches=len(replayed.records), differences=len(named))
        return DryRun(
            run_id=run_id,
            recorded=spool.recorded.counts(),
            replayed=replayed.counts(),
            differences=named[:MAX_DIFFERENCES],
            differences_total=len(named),
            batches=len(replayed.records),
        )

    async def _replay(self, run_id: str, spool: _Spool) -> tuple[RunOutcomes, list[OutcomeDifference]]:
        """The spooled batches decided in a scratch seeded as the run found the store; the differences
        with ``recorded`` come back named."""
        replayed = RunOutcomes()
        name = await scratch.open_scratch(self.dsn, self.migrations)
        try:
            conn = await connect(self.dsn, name)
            try:
                seeded = False
                for batch in spool:
                    if not seeded:
                        settings = batch.settings
                        await scratch.seed_as_found(
                            conn, run_id=run_id, list_name=settings.list_name, module=batch.module
                        )
                        seeded = True
                    replayed.add(await _decide(conn, batch))
                found = list(differences(spool.recorded, replayed))
                named = await _named(conn, run_id, found)
            finally:
                await conn.close()
        finally:
            await scratch.drop_scratch(self.dsn, name)
        return replayed, named

    # --- sync preview ---------------------------------------------------------------------------------

    async def preview_open(self, request: NoArguments) -> Scratch:
        return Scratch(scratch=await scratch.open_scratch(self.dsn, self.migrations))

    async def preview_batch(self, request: PreviewBatch) -> BatchImported:
        conn = await connect(self.dsn, request.scratch)
        try:
            return await _decide(conn, request.batch)
        except asyncpg.UndefinedTableError:
            raise RpcError(_gone(request.scratch), 404) from None
        finally:
            await conn.close()

    async def preview_close(self, request: Scratch) -> PreviewOutcomes:
        """The preview's summary and samples; the scratch is dropped whatever happens."""
        try:
            conn = await connect(self.dsn, request.scratch)
            try:
                return await _preview_outcomes(conn)
            except asyncpg.UndefinedTableError:
                raise RpcError(_gone(request.scratch), 404) from None
            finally:
                await conn.close()
        finally:
            await scratch.drop_scratch(self.dsn, request.scratch)


def _gone(name: str) -> str:
    return f"no scratch store {name!r}: it was closed, or dropped as stale"


async def _decide(conn: asyncpg.Connection, batch: RecordBatch) -> BatchImported:
    """Seed what the batch needs and decide it, as a live batch is decided."""
    parsed = await parse_batch(batch)
    await scratch.seed_from_store(
        conn,
        keys=[key for _, key in records_to_look_up(parsed)],
        module=batch.module,
        deleted_ids=[d.id for d in batch.deleted],
    )
    return await decide_and_apply(conn, batch, parsed)


async def _named(
    conn: asyncpg.Connection, run_id: str, found: Sequence[Difference]
) -> list[OutcomeDifference]:
    """Each difference with its record's id and address (a record's are in its replayed batch; a
    deletion's came with it)."""
    wanted = [
        (d.seq, d.replayed_at if d.replayed_at is not None else d.recorded_at)
        for d in found[:MAX_DIFFERENCES]
        if d.record_id is None
    ]
    rows = await conn.fetch(
        """
        SELECT t.seq, t.pos, o->>'record_id' AS record_id, o->>'email' AS email
          FROM jsonb_to_recordset($2::jsonb) AS t(seq integer, pos integer)
          JOIN imported_batches AS b ON b.run_id = $1 AND b.seq = t.seq
         CROSS JOIN LATERAL (SELECT convert_from(b.outcomes, 'UTF8')::jsonb->t.pos AS o) AS outcome
        """,
        run_id,
        [{"seq": seq, "pos": pos} for seq, pos in wanted],
    )
    names = {(r["seq"], r["pos"]): (r["record_id"], r["email"]) for r in rows}
    named = []
    for d in found:
        record_id, email = d.record_id, d.email
        if record_id is None:
            at = d.replayed_at if d.replayed_at is not None else d.recorded_at
            record_id, email = names.get((d.seq, at if at is not None else -1), (None, None))
        named.append(
            OutcomeDifference(
                record_id=record_id,
                email=email,
                recorded=_outcome(d.recorded),
                replayed=_outcome(d.replayed),
                recorded_reason=d.recorded[1] if d.recorded is not None else None,
                replayed_reason=d.replayed[1] if d.replayed is not None else None,
            )
        )
    return named


def _outcome(item: Counted | None) -> Outcome | None:
    return item[0] if item is not None else None


async def _preview_outcomes(conn: asyncpg.Connection) -> PreviewOutcomes:
    """Count the scratch's batches as history would count a run, then sample up to ``PREVIEW_SAMPLES``
    records of each outcome they end with."""
    outcomes = RunOutcomes()
    async with contextlib.aclosing(_batches(conn)) as batches:
        async for seq, items, superseded in batches:
            outcomes.add_outcomes(seq, items, superseded)
    outcomes.finish()
    samples: dict[Outcome, list[Sample]] = {outcome: [] for outcome in Outcome}
    async with contextlib.aclosing(_batches(conn)) as batches:
        async for seq, items, _ in batches:
            for position, item in enumerate(items):
                final = outcomes.at(seq, position)
                if final is None or len(samples[final[0]]) >= PREVIEW_SAMPLES:
                    continue
                samples[final[0]].append(Sample(record_id=item.record_id, email=item.email, reason=final[1]))
            if all(len(sampled) >= PREVIEW_SAMPLES for sampled in samples.values()):
                break
    return PreviewOutcomes(summary=outcomes.counts(), samples=samples)


async def _batches(
    conn: asyncpg.Connection,
) -> AsyncGenerator[tuple[int, Outcomes, list[Superseded]], None]:
    """The scratch's imported batches in order, read a few at a time."""
    async with conn.transaction():
        cursor = conn.cursor(
            "SELECT seq, outcomes, superseded FROM imported_batches ORDER BY seq", prefetch=8
        )
        async for row in cursor:
            yield (
                row["seq"],
                stored_outcomes(row),
                stored_supersessions(row),
            )


class _Spool:
    """A run's journaled batches in a temporary file, in journal order, each seq once; and the outcomes
    recorded for them."""

    _LENGTH = struct.Struct("<I")

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()
        self._seqs: set[int] = set()
        self.recorded = RunOutcomes()

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()

    def add(self, batch: RecordBatch) -> None:
        if batch.seq in self._seqs:
            return
        self._seqs.add(batch.seq)
        body = batch.model_dump_json().encode()
        self._file.write(self._LENGTH.pack(len(body)) + body)

    def __iter__(self) -> Iterator[RecordBatch]:
        self._file.flush()
        self._file.seek(0)
        while header := self._file.read(self._LENGTH.size):
            (length,) = self._LENGTH.unpack(header)
            yield RecordBatch.model_validate_json(self._file.read(length))
