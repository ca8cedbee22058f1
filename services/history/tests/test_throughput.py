"""Sixty 1,000-record batches recorded four at a time (as the prefetch delivers them) all count.

The rate is printed, not asserted (this machine is shared and noisy); ``make bench`` measures the
pipeline against a baseline from the same run.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.events import IgnoreReason, Outcome
from recruit_sync.history import handlers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = 1000
BATCHES = int(os.environ.get("HISTORY_BENCH_BATCHES", "60"))


def _batches(run: Any) -> list[Any]:
    kinds = [Outcome.NEW, Outcome.UNCHANGED, Outcome.UPDATED, Outcome.DUPLICATE, Outcome.IGNORED]
    return [
        run.batch(
            seq,
            [
                run.record(
                    str(seq * BATCH + i),
                    f"Person.{seq * BATCH + i}@Example.com",
                    kinds[i % 5],
                    IgnoreReason.OPT_OUT if kinds[i % 5] is Outcome.IGNORED else None,
                )
                for i in range(BATCH)
            ],
        )
        for seq in range(BATCHES)
    ]


async def test_batches_recorded_concurrently_all_count(pool: asyncpg.Pool, run: Any) -> None:
    batches = _batches(run)
    await handlers.start_run(run.sync_due(), pool=pool)
    await handlers.complete_fetch(run.fetch_completed(BATCHES, BATCHES * BATCH), pool=pool)

    async def worker(mine: list[Any]) -> None:
        for batch in mine:
            await handlers.record_batch(batch, pool=pool)

    started = time.perf_counter()
    # four at a time, as the subscriber's prefetch delivers them (they queue on the run's row lock)
    await asyncio.gather(*(worker(batches[i::4]) for i in range(4)))
    elapsed = time.perf_counter() - started

    rate = BATCHES * BATCH / elapsed
    print(f"\nhistory: {BATCHES * BATCH} outcome rows in {elapsed:.2f}s = {rate:,.0f} rows/s")
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT state, total, ignored FROM runs WHERE run_id = $1", run.run_id)
    assert (row["state"], row["total"]) == ("succeeded", BATCHES * BATCH)
    assert row["ignored"] == BATCHES * BATCH // 5
