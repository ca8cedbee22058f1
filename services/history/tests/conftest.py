"""History test fixtures: a migrated pool on the per-test database, and a builder for one run's events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from recruit_sync.contracts.events import (
    BatchImported,
    ConnectionSnapshot,
    Displacement,
    FetchCompleted,
    FetchFailed,
    IgnoreReason,
    ImportSettings,
    MessageRejected,
    Outcome,
    RecordOutcome,
    Superseded,
    SyncDue,
    Trigger,
)
from recruit_sync.contracts.ids import batch_imported_id
from recruit_sync.contracts.sync_spec import Options, SelectAll
from recruit_sync.history.app import MIGRATIONS_DIR
from recruit_sync.runtime.db import create_pool, migrate


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate(database_url, "history", MIGRATIONS_DIR)
    pool = await create_pool(database_url, "history")
    yield pool
    await pool.close()


class RunEvents:
    """The events of one run, as the scheduler, fetcher and importer would publish them."""

    def __init__(self, sync_id: str = "sync-1", started_at: datetime | None = None) -> None:
        self.run_id = str(uuid.uuid4())
        self.sync_id = sync_id
        self.started_at = started_at or datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

    def sync_due(self, trigger: Trigger = Trigger.MANUAL) -> SyncDue:
        return SyncDue(
            occurred_at=self.started_at,
            correlation_id=self.run_id,
            run_id=self.run_id,
            sync_id=self.sync_id,
            sync_name="IT graduates",
            trigger=trigger,
            due_at=self.started_at,
            module="Candidates",
            selection=SelectAll(),
            connection=ConnectionSnapshot(
                connection_id="c1",
                name="acme",
                base_url="https://recruit.zoho.com",
                accounts_url="https://accounts.zoho.com",
                client_id="cid",
                client_secret_enc="x",
                refresh_token_enc="y",
            ),
            settings=ImportSettings(list_name="IT talent", options=Options(), mapping=[], settings_version=1),
        )

    def batch(
        self,
        seq: int,
        outcomes: list[RecordOutcome],
        superseded: list[Superseded] | None = None,
        minutes: int = 1,
    ) -> BatchImported:
        return BatchImported(
            event_id=batch_imported_id(self.run_id, seq),
            occurred_at=self.started_at + timedelta(minutes=minutes),
            correlation_id=self.run_id,
            run_id=self.run_id,
            sync_id=self.sync_id,
            seq=seq,
            outcomes=outcomes,
            superseded=superseded or [],
        )

    def batch_v1(self, seq: int, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
        """A ``BatchImported`` body as version 1 importers published it (reasons as text)."""
        return {
            "type": "batch.imported",
            "version": 1,
            "event_id": str(batch_imported_id(self.run_id, seq)),
            "occurred_at": (self.started_at + timedelta(minutes=1)).isoformat(),
            "correlation_id": self.run_id,
            "run_id": self.run_id,
            "sync_id": self.sync_id,
            "seq": seq,
            "outcomes": outcomes,
        }

    def fetch_completed(
        self, batch_count: int, record_count: int = 0, deleted_count: int = 0, api_calls: int = 2
    ) -> FetchCompleted:
        return FetchCompleted(
            correlation_id=self.run_id,
            run_id=self.run_id,
            sync_id=self.sync_id,
            batch_count=batch_count,
            record_count=record_count,
            deleted_count=deleted_count,
            api_calls=api_calls,
            credits=api_calls * 3,
            started_at=self.started_at + timedelta(seconds=5),
        )

    def fetch_failed(self, error: str, auth_failed: bool = False) -> FetchFailed:
        return FetchFailed(
            correlation_id=self.run_id,
            run_id=self.run_id,
            sync_id=self.sync_id,
            error=error,
            auth_failed=auth_failed,
            api_calls=1,
            credits=1,
        )

    @staticmethod
    def record(
        record_id: str,
        email: str | None,
        kind: Outcome = Outcome.NEW,
        reason: IgnoreReason | None = None,
        problem: str | None = None,
    ) -> RecordOutcome:
        return RecordOutcome(record_id=record_id, email=email, outcome=kind, reason=reason, problem=problem)

    @staticmethod
    def displaces(seq: int, position: int, by: int, becomes: Displacement) -> Superseded:
        """The record at ``by`` displaces outcome ``position`` of batch ``seq``."""
        return Superseded(seq=seq, position=position, by=by, becomes=becomes)

    def rejected(self, reason: str) -> MessageRejected:
        return MessageRejected(
            correlation_id=self.run_id,
            consumer="importer",
            queue="recruit_sync.importer.record_batch",
            run_id=self.run_id,
            message_id=str(uuid.uuid4()),
            reason=reason,
        )


@pytest.fixture
def run() -> RunEvents:
    return RunEvents()


@pytest.fixture
def make_run() -> type[RunEvents]:
    return RunEvents
