"""Every event of the pipeline, in the order a run produces them.

scheduler --SyncDue--> fetcher --RecordBatch*, FetchCompleted | FetchFailed--> importer / history
importer --BatchImported--> history --RunCompleted--> scheduler
Any consumer that cannot read a message dead-letters it and says so with MessageRejected, so history
can fail the run with the reason instead of waiting for a batch that will never come.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.sync_spec import FieldMapping, Options, Selection


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    FULL_RESYNC = "full_resync"


class Outcome(StrEnum):
    NEW = "new"
    RE_ADDED = "re_added"
    DUPLICATE = "duplicate"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    IGNORED = "ignored"
    DELETED = "deleted"


class IgnoreReason(StrEnum):
    """SPEC section 5, in the order the checks run (malformed: the record could not be read)."""

    EMPTY_EMAIL = "empty_email"
    INVALID_PATTERN = "invalid_pattern"
    ROLE_ADDRESS = "role_address"
    FILE_DUPLICATE = "file_duplicate"
    OPT_OUT = "opt_out"
    CONVERTED = "converted"
    DO_NOT_MAIL = "do_not_mail"
    BOUNCED = "bounced"
    MALFORMED = "malformed"


class RunState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectionSnapshot(_Data):
    """What the fetcher needs to call Recruit. Secrets travel encrypted (Fernet, shared key)."""

    connection_id: str
    name: str
    base_url: str
    accounts_url: str
    client_id: str
    client_secret_enc: str
    refresh_token_enc: str
    credentials_version: int = 1
    daily_credit_budget: int | None = None


class ImportSettings(_Data):
    """What the importer needs to place records: list, options, mapping, and the settings version."""

    list_name: str
    options: Options
    mapping: list[FieldMapping]
    settings_version: int
    options_enabled_at: dict[str, datetime] = Field(default_factory=dict)


class SyncDue(Envelope):
    """A sync must run now. Carries a snapshot of everything downstream needs."""

    ROUTING_KEY: ClassVar[str] = topology.SYNC_DUE
    type: Literal["sync.due"] = "sync.due"
    version: Literal[1] = 1

    run_id: str
    sync_id: str
    sync_name: str
    trigger: Trigger
    due_at: datetime
    module: str
    selection: Selection
    since: datetime | None = None
    deleted_since: datetime | None = None
    connection: ConnectionSnapshot
    settings: ImportSettings
    batch_size: int = Field(default=1000, ge=1, le=10_000)


class DeletedRecord(_Data):
    id: str
    deleted_time: datetime | None = None


class RecordBatch(Envelope):
    """One slice of a run's records, as Recruit returned them (plus deletions). Identity: (run_id, seq)."""

    ROUTING_KEY: ClassVar[str] = topology.RECORD_BATCH
    type: Literal["record.batch"] = "record.batch"
    version: Literal[1] = 1

    run_id: str
    sync_id: str
    seq: int = Field(ge=0)
    module: str
    settings: ImportSettings
    # Any, not dict: a record that is not an object is reported `malformed`, not the whole batch lost
    records: list[Any] = Field(default_factory=lambda: [])
    deleted: list[DeletedRecord] = Field(default_factory=lambda: [])


class FetchCompleted(Envelope):
    ROUTING_KEY: ClassVar[str] = topology.FETCH_COMPLETED
    type: Literal["fetch.completed"] = "fetch.completed"
    version: Literal[1] = 1

    run_id: str
    sync_id: str
    batch_count: int = Field(ge=0)
    record_count: int = Field(ge=0)
    deleted_count: int = Field(ge=0, default=0)
    api_calls: int = Field(ge=0)
    credits: int = Field(ge=0)
    started_at: datetime


class FetchFailed(Envelope):
    ROUTING_KEY: ClassVar[str] = topology.FETCH_FAILED
    type: Literal["fetch.failed"] = "fetch.failed"
    version: Literal[1] = 1

    run_id: str
    sync_id: str
    error: str
    auth_failed: bool = False
    api_calls: int = Field(ge=0, default=0)
    credits: int = Field(ge=0, default=0)


class RecordOutcome(_Data):
    record_id: str | None
    email: str | None
    outcome: Outcome
    reason: str | None = None


class BatchImported(Envelope):
    ROUTING_KEY: ClassVar[str] = topology.BATCH_IMPORTED
    type: Literal["batch.imported"] = "batch.imported"
    version: Literal[1] = 1

    run_id: str
    sync_id: str
    seq: int = Field(ge=0)
    outcomes: list[RecordOutcome]


class MessageRejected(Envelope):
    """A consumer could not read a message and dead-lettered it; the run it belongs to cannot finish."""

    ROUTING_KEY: ClassVar[str] = topology.MESSAGE_REJECTED
    type: Literal["message.rejected"] = "message.rejected"
    version: Literal[1] = 1

    consumer: str
    queue: str
    run_id: str | None
    message_id: str | None
    reason: str


class RunCounts(_Data):
    total: int = 0
    new: int = 0
    re_added: int = 0
    duplicate: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0
    ignored_by_reason: dict[IgnoreReason, int] = Field(
        default_factory=lambda: {reason: 0 for reason in IgnoreReason}
    )
    deleted: int = 0


class RunSummary(RunCounts):
    """INTERFACE.md "Run summary": what `runs show --json` prints."""

    run_id: str
    sync_id: str
    state: RunState
    trigger: Trigger | None
    started_at: datetime | None
    finished_at: datetime | None
    api_calls: int = 0
    credits: int = 0
    error: str | None = None


class RunCompleted(Envelope):
    ROUTING_KEY: ClassVar[str] = topology.RUN_COMPLETED
    type: Literal["run.completed"] = "run.completed"
    version: Literal[1] = 1

    summary: RunSummary
    auth_failed: bool = False


class SyncDeactivated(Envelope):
    ROUTING_KEY: ClassVar[str] = topology.SYNC_DEACTIVATED
    type: Literal["sync.deactivated"] = "sync.deactivated"
    version: Literal[1] = 1

    sync_id: str
    reason: Literal["auth_failed", "credentials_changed"]


EVENT_TYPES: dict[str, type[Envelope]] = {
    cls.ROUTING_KEY: cls
    for cls in (
        SyncDue,
        RecordBatch,
        FetchCompleted,
        FetchFailed,
        BatchImported,
        MessageRejected,
        RunCompleted,
        SyncDeactivated,
    )
}


def run_id_for_schedule(sync_id: str, due_at: datetime) -> str:
    """Scheduled runs get a deterministic id: two scheduler replicas emitting the same due run collide."""
    from recruit_sync.contracts.envelope import deterministic_id

    return str(deterministic_id("run", sync_id, due_at.isoformat()))


def batch_imported_id(run_id: str, seq: int) -> uuid.UUID:
    """BatchImported's event id is derived from the batch, so a re-import republishes the same event."""
    from recruit_sync.contracts.envelope import deterministic_id

    return deterministic_id("batch-imported", run_id, seq)
