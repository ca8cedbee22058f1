"""The importer's record counts (``runtime.metrics.RECORDS``): each batch's outcomes once, when its
transaction commits; a redelivered batch, whose same BatchImported is republished, adds nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from recruit_sync.importer import handlers

pytestmark = pytest.mark.integration


def counted(sync_id: str, outcome: str, reason: str = "") -> float:
    value = REGISTRY.get_sample_value(
        "recruit_sync_records_total", {"sync_id": sync_id, "outcome": outcome, "reason": reason}
    )
    return value or 0.0


async def test_outcomes_are_counted_once_and_not_on_redelivery(
    pool: asyncpg.Pool, sync: Any, record: Any
) -> None:
    batch = sync.batch(
        0,
        [
            record("1", "jane@example.com"),
            record("2", "bob@example.com"),
            record("3", "careers@zylker.com"),
            record("4", None),
        ],
    )
    event = await handlers.import_batch(pool, batch)
    assert [o.outcome.value for o in event.outcomes] == ["new", "new", "ignored", "ignored"]
    assert counted(sync.sync_id, "new") == 2
    assert counted(sync.sync_id, "ignored", "role_address") == 1
    assert counted(sync.sync_id, "ignored", "empty_email") == 1

    again = await handlers.import_batch(pool, batch)  # a redelivery: the same event, republished
    assert again == event
    assert counted(sync.sync_id, "new") == 2
    assert counted(sync.sync_id, "ignored", "role_address") == 1

    await handlers.import_batch(pool, sync.batch(1, [record("5", "ann@example.com")]))
    assert counted(sync.sync_id, "new") == 3
