"""Migration 0003 on rows the previous importer left: claims learn where their outcome is, and recorded
batches read back as the current BatchImported, so a run in flight during the upgrade carries on."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from recruit_sync.contracts.events import Displacement, IgnoreReason, Superseded
from recruit_sync.importer import handlers
from recruit_sync.importer.app import SERVICE
from recruit_sync.importer.store.batches import imported_batch
from recruit_sync.runtime.db import create_pool, migrate

pytestmark = pytest.mark.integration

RUN = "run-in-flight"
# batch 0 as the version 1 importer recorded it: reasons as text, "malformed: <problem>"
OLD_OUTCOMES = [
    {"record_id": None, "email": None, "outcome": "ignored", "reason": "malformed: record is not an object"},
    {"record_id": "1", "email": "jane@example.com", "outcome": "new", "reason": None},
    {"record_id": "2", "email": "bob@example.com", "outcome": "ignored", "reason": "opt_out"},
    {"record_id": "3", "email": "x@", "outcome": "ignored", "reason": "invalid_pattern"},
    {"record_id": "9", "email": "gone@example.com", "outcome": "deleted", "reason": None},
]


async def test_old_claims_and_batches_are_carried_over(
    tmp_path: Path, database_url: str, sync: Any, record: Any
) -> None:
    assert SERVICE.migrations is not None
    for name in ("0001_init.sql", "0002_run_claims.sql"):
        shutil.copy(SERVICE.migrations / name, tmp_path / name)
    await migrate(database_url, SERVICE.name, tmp_path)
    pool = await create_pool(database_url, SERVICE.name)
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO imported_batches VALUES ($1, 0, $2, gen_random_uuid(), 'cause', now(), $3)",
                RUN,
                sync.sync_id,
                OLD_OUTCOMES,
            )
            await conn.execute(
                "INSERT INTO contacts (email_key, email) VALUES ('jane@example.com', 'jane@example.com')"
            )
            await conn.executemany(
                "INSERT INTO run_emails (email_key, run_id, record_id, seq, deletion, created) "
                "VALUES ($1, $2, $3, 0, $4, $5)",
                [
                    ("jane@example.com", RUN, "1", False, True),
                    ("bob@example.com", RUN, "2", False, False),
                    ("gone@example.com", RUN, "9", True, False),
                    ("lost@example.com", RUN, "404", False, False),  # no such outcome recorded
                ],
            )

        await migrate(database_url, SERVICE.name, SERVICE.migrations)

        async with pool.acquire() as conn:
            positions = dict(
                await conn.fetch("SELECT email_key, position FROM run_emails ORDER BY email_key")
            )
            old = await imported_batch(conn, RUN, 0)
        assert positions == {
            "bob@example.com": 2,
            "gone@example.com": 4,
            "jane@example.com": 1,
            "lost@example.com": None,
        }
        assert old is not None and old.superseded == []
        assert [(o.reason, o.problem) for o in old.outcomes] == [
            (IgnoreReason.MALFORMED, "record is not an object"),
            (None, None),
            (IgnoreReason.OPT_OUT, None),
            (IgnoreReason.INVALID_PATTERN, None),
            (None, None),
        ]

        # the run goes on: a more recent record names the claimant's outcome; an unknown one, nothing
        batch = sync.batch(
            1, [record("5", "jane@example.com"), record("500", "lost@example.com")], run_id=RUN
        )
        event = await handlers.import_batch(pool, batch)
        assert [(o.record_id, o.outcome.value) for o in event.outcomes] == [("5", "new"), ("500", "new")]
        assert event.superseded == [Superseded(seq=0, position=1, by=0, becomes=Displacement.FILE_DUPLICATE)]
    finally:
        await pool.close()
