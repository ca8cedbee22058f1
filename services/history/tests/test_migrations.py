"""Migration 0004 turns the reasons stored as text into typed reasons and problems, as
``RecordOutcomeV1.upgrade`` reads old events, so old runs show and count the same as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest

from recruit_sync.contracts.events import Outcome, RecordOutcomeV1
from recruit_sync.history.app import MIGRATIONS_DIR
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


async def test_text_reasons_become_typed_reasons_and_problems(database_url: str, tmp_path: Path) -> None:
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.stem < "0004":
            shutil.copy(path, tmp_path)
    await migrate(database_url, "history", tmp_path)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "history"})
    try:
        await conn.executemany(
            "INSERT INTO record_outcomes (run_id, seq, position, outcome, reason, at) "
            "VALUES ('r', 0, $1, $2, $3, now())",
            [(i, "new" if reason is None else "ignored", reason) for i, reason in enumerate(OLD_REASONS)],
        )
        applied = await migrate(database_url, "history", MIGRATIONS_DIR)
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
