"""Importer test fixtures: a migrated pool on the per-test database, and builders for record batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.events import ImportSettings, RecordBatch
from recruit_sync.contracts.sync_spec import FieldMapping, Options
from recruit_sync.importer.app import SERVICE
from recruit_sync.runtime.db import create_pool, migrate

MAPPING = [
    FieldMapping(**{"from": "First_Name", "to": "first_name"}),
    FieldMapping(**{"from": "Last_Name", "to": "last_name"}),
    FieldMapping(**{"from": "Current_Employer", "to": "company"}),
]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    assert SERVICE.migrations is not None
    await migrate(database_url, SERVICE.name, SERVICE.migrations)
    pool = await create_pool(database_url, SERVICE.name, max_size=8)
    yield pool
    await pool.close()


def candidate(
    record_id: str, email: str | None, first: str = "Jane", last: str = "Doe", **more: Any
) -> dict[str, Any]:
    return {"id": record_id, "Email": email, "First_Name": first, "Last_Name": last, **more}


class Sync:
    """One sync's runs, as the fetcher would slice them into RecordBatch messages."""

    def __init__(self, list_name: str = "IT talent", sync_id: str | None = None, **options: Any) -> None:
        self.sync_id = sync_id or f"sync-{uuid.uuid4().hex[:8]}"
        self.settings = ImportSettings(
            list_name=list_name, options=Options(**options), mapping=MAPPING, settings_version=2
        )
        self.run_id = self.new_run()

    def new_run(self) -> str:
        self.run_id = str(uuid.uuid4())
        return self.run_id

    def batch(
        self, seq: int, records: list[Any], deleted: list[str] | None = None, run_id: str | None = None
    ) -> RecordBatch:
        run_id = run_id or self.run_id
        return RecordBatch(
            correlation_id=run_id,
            run_id=run_id,
            sync_id=self.sync_id,
            seq=seq,
            module="Candidates",
            settings=self.settings,
            records=records,
            deleted=[{"id": d} for d in deleted or []],
        )


@pytest.fixture
def sync() -> Sync:
    return Sync()


@pytest.fixture
def make_sync() -> type[Sync]:
    """Build more syncs: ``make_sync("Other list", on_recruit_delete="remove_from_org")``."""
    return Sync


@pytest.fixture
def record() -> Any:
    """Build a Recruit candidate record: ``record("1", "jane@example.com", Last_Name="Smith")``."""
    return candidate
