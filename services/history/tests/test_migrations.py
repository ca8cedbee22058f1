"""Migrations that move stored outcomes: 0004 turns the reasons stored as text into typed reasons and
problems, as ``RecordOutcomeV1.upgrade`` reads old events, so old runs show and count the same as
before; 0009 moves the outcomes from a row per record to a row per batch, and they read the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import orjson
import pytest

from recruit_sync.contracts.events import Outcome, RecordOutcomeV1
from recruit_sync.history.app import MIGRATIONS_DIR
from recruit_sync.history.store.outcomes import outcomes_for_email, run_records
from recruit_sync.runtime.db import migrate

pytestmark = pytest.mark.integration

OLD_REASONS = [
    None,
    "opt_out",
    "malformed",
    "malformed: Email is a number",
    "record is not an object",
    "invalid_pattern: gnail.com looks like gmail.com",
    "bounced:  ",
]


def _migrations(tmp_path: Path, below: str) -> Path:
    """A directory of the migrations before ``below``."""
    target = tmp_path / below
    target.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.stem < below:
            shutil.copy(path, target)
    return target


async def test_text_reasons_become_typed_reasons_and_problems(database_url: str, tmp_path: Path) -> None:
    await migrate(database_url, "history", _migrations(tmp_path, "0004"))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "history"})
    try:
        await conn.executemany(
            "INSERT INTO record_outcomes (run_id, seq, position, outcome, reason, at) "
            "VALUES ('r', 0, $1, $2, $3, now())",
            [(i, "new" if reason is None else "ignored", reason) for i, reason in enumerate(OLD_REASONS)],
        )
        applied = await migrate(database_url, "history", _migrations(tmp_path, "0009"))
        assert applied[0] == "0004_typed_reasons_and_supersessions"  # then any later ones
        rows = await conn.fetch("SELECT outcome, reason, problem FROM record_outcomes ORDER BY position")
    finally:
        await conn.close()

    expected = [
        RecordOutcomeV1(record_id=None, email=None, outcome=Outcome(row["outcome"]), reason=text).upgrade()
        for row, text in zip(rows, OLD_REASONS, strict=True)
    ]
    assert [(row["reason"], row["problem"]) for row in rows] == [
        (item.reason.value if item.reason else None, item.problem) for item in expected
    ]
    assert [(row["reason"], row["problem"]) for row in rows] == [
        (None, None),
        ("opt_out", None),
        ("malformed", None),
        ("malformed", "Email is a number"),
        ("malformed", "record is not an object"),
        ("invalid_pattern", "gnail.com looks like gmail.com"),
        ("bounced", None),
    ]


async def test_outcomes_stored_a_row_per_record_read_the_same_a_row_per_batch(
    database_url: str, tmp_path: Path
) -> None:
    """Two batches of a run, the first with a void deletion's gap at position 1 (its row was deleted):
    after 0009, ``runs records`` and ``explain`` answer as before, positions kept."""
    await migrate(database_url, "history", _migrations(tmp_path, "0009"))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "history"})
    try:
        await conn.execute("INSERT INTO runs (run_id, sync_id) VALUES ('r', 's')")
        await conn.executemany(
            "INSERT INTO record_outcomes (run_id, seq, position, record_id, email, email_key, outcome, "
            "reason, problem, at) VALUES ('r', $1, $2, $3, $4, lower($4), $5, $6, $7, '2026-11-01T10:00Z')",
            [
                (0, 0, "1", "Ann@Example.com", "new", None, None),
                (0, 2, "3", None, "ignored", "malformed", "Email is a number"),
                (1, 0, "4", "ann@example.com", "ignored", "file_duplicate", None),
            ],
        )
        assert await migrate(database_url, "history", MIGRATIONS_DIR) == ["0009_outcomes_by_batch"]
        assert await conn.fetchval("SELECT count(*) FROM batch_outcomes") == 2
        records = await run_records(conn, "r", None, None, 0)
        found = await outcomes_for_email(conn, "ANN@example.com")
        batches = await conn.fetch("SELECT seq, outcomes FROM batch_outcomes ORDER BY seq")
    finally:
        await conn.close()
    assert [(o.record_id, o.outcome.value, o.reason_text) for o in records] == [
        ("1", "new", None),
        ("3", "ignored", "malformed: Email is a number"),
        ("4", "ignored", "file_duplicate"),
    ]
    assert [len(orjson.loads(row["outcomes"])) for row in batches] == [3, 1]  # the gap is kept, as null
    assert [(f.run_id, f.sync_id, f.outcome.record_id) for f in found] == [("r", "s", "1"), ("r", "s", "4")]
