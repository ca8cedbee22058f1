"""Every event of the pipeline, in the order a run produces them.

scheduler --SyncDue--> fetcher --RecordBatch*, FetchCompleted | FetchFailed--> importer / history
importer --BatchImported--> history --RunCompleted--> scheduler
Any consumer that cannot read a message dead-letters it and says so with MessageRejected, so history
can fail the run with the reason instead of waiting for a batch that will never come.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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
    """One slice of a run's records (plus deletions). Identity: (run_id, seq).

    Each record carries only the fields the import reads (``contracts.records.fields_read``: id, email,
    the flags the checks read, modified time, the mapped fields), as Recruit gave their values.
    """

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


class RunFields(TypedDict):
    """The envelope of an event that another event of a run leads to (``caused_by``)."""

    correlation_id: str
    causation_id: str
    run_id: str
    sync_id: str


def caused_by(cause: SyncDue | RecordBatch) -> RunFields:
    """Same run and sync as ``cause``, correlated by the run and caused by ``cause``."""
    return RunFields(
        correlation_id=cause.run_id,
        causation_id=str(cause.event_id),
        run_id=cause.run_id,
        sync_id=cause.sync_id,
    )


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
    """What happened to one record. ``reason``: why it was ignored; ``problem``: what could not be read
    of a ``malformed`` record (INTERFACE.md's ``runs records`` shows it as ``malformed: <problem>``)."""

    record_id: str | None
    email: str | None
    outcome: Outcome
    reason: IgnoreReason | None = None
    problem: str | None = None

    @property
    def reason_text(self) -> str | None:
        """The ``reason`` of INTERFACE.md's ``runs records``: the ignore reason, with the problem."""
        if self.reason is None:
            return None
        return f"{self.reason.value}: {self.problem}" if self.problem else self.reason.value


class Outcomes(_Data):
    """A batch's outcomes as columns: entry i of each column is the outcome of the batch's record at
    position i (records in batch order, then deletions acted on). Read as a sequence, it gives a
    ``RecordOutcome`` per record.

    Columns, not an object per record (``BatchImported`` version 3, docs/adr/0030): a model instance per
    record cost the importer a microsecond to build and history more to read, for a batch of 2,000
    records 2 ms and 1.3 ms, against a tenth of that for five lists. The importer's ``decide`` builds
    one by appending (``add``); nothing changes it after."""

    record_id: list[str | None] = Field(default_factory=lambda: [])
    email: list[str | None] = Field(default_factory=lambda: [])
    outcome: list[Outcome] = Field(default_factory=lambda: [])
    reason: list[IgnoreReason | None] = Field(default_factory=lambda: [])
    problem: list[str | None] = Field(default_factory=lambda: [])

    @model_validator(mode="after")
    def _columns_of_one_length(self) -> Outcomes:
        lengths = {len(self.email), len(self.outcome), len(self.reason), len(self.problem)}
        if lengths != {len(self.record_id)}:
            raise ValueError("the outcome columns differ in length")
        return self

    @classmethod
    def of(cls, items: Iterable[RecordOutcome]) -> Outcomes:
        outcomes = cls()
        for item in items:
            outcomes.add(item.record_id, item.email, item.outcome, item.reason, item.problem)
        return outcomes

    def add(
        self,
        record_id: str | None,
        email: str | None,
        outcome: Outcome,
        reason: IgnoreReason | None = None,
        problem: str | None = None,
    ) -> None:
        self.record_id.append(record_id)
        self.email.append(email)
        self.outcome.append(outcome)
        self.reason.append(reason)
        self.problem.append(problem)

    def as_objects(self) -> list[dict[str, Any]]:
        """The outcomes as ``RecordOutcome`` objects would be written in JSON (dicts, enums as they are),
        for a store that keeps a batch's outcomes as an array (history's; the importer's record of a
        batch): readers of every version read that form."""
        columns = (self.record_id, self.email, self.outcome, self.reason, self.problem)
        return [
            {"record_id": record_id, "email": email, "outcome": outcome, "reason": reason, "problem": problem}
            for record_id, email, outcome, reason, problem in zip(*columns, strict=True)
        ]

    def counted(self) -> Iterator[tuple[Outcome, IgnoreReason | None]]:
        """(outcome, reason) of each record, as ``contracts.counts`` counts them."""
        return zip(self.outcome, self.reason, strict=True)

    def __len__(self) -> int:
        return len(self.record_id)

    def __getitem__(self, position: int) -> RecordOutcome:
        return RecordOutcome(
            record_id=self.record_id[position],
            email=self.email[position],
            outcome=self.outcome[position],
            reason=self.reason[position],
            problem=self.problem[position],
        )

    def __iter__(self) -> Iterator[RecordOutcome]:  # type: ignore[override]
        # (a record's outcome, not the model's (field, value) pairs: ``dict(outcomes)`` is no use here)
        return (self[position] for position in range(len(self)))


class Displacement(StrEnum):
    """What becomes of an earlier outcome of the run that a more recent record of its email displaces."""

    FILE_DUPLICATE = "file_duplicate"  # it becomes ignored `file_duplicate` (SPEC section 5, check 4)
    VOID = "void"  # a deletion acted on that the live record undoes: the outcome is dropped


class Superseded(_Data):
    """An earlier batch's outcome that a record of this batch displaces (docs/adr/0007).

    The importer holds each run's email claims, so it alone knows when a more recent record takes an
    email over; it says so here and history applies it, whatever order the batches reach history in.
    """

    seq: int = Field(ge=0)  # the earlier batch
    position: int = Field(ge=0)  # the outcome's index in that batch's ``outcomes``
    by: int = Field(ge=0)  # the index in this batch's ``outcomes`` of the record that displaces it
    becomes: Displacement


class BatchImported(Envelope):
    """One batch applied: an outcome per record (records in batch order, then deletions acted on), and
    the earlier outcomes of the run that this batch's records displace."""

    ROUTING_KEY: ClassVar[str] = topology.BATCH_IMPORTED
    type: Literal["batch.imported"] = "batch.imported"
    version: Literal[3] = 3

    run_id: str
    sync_id: str
    seq: int = Field(ge=0)
    outcomes: Outcomes
    superseded: list[Superseded] = Field(default_factory=lambda: [])

    @field_validator("outcomes", mode="before")
    @classmethod
    def _outcomes_as_columns(cls, value: object) -> object:
        """Outcomes may also be given as a list of ``RecordOutcome`` (or their dicts); they are kept, and
        sent, as columns."""
        if isinstance(value, list):
            return Outcomes.of(RecordOutcome.model_validate(item) for item in value)
        return value

    def as_version_2(self) -> BatchImportedV2:
        """The same event as version 2 (an object per outcome), for readers of a release before 3."""
        return BatchImportedV2(
            **self.model_dump(exclude={"type", "version", "outcomes", "superseded"}),
            outcomes=list(self.outcomes),
            superseded=self.superseded,
        )


class BatchImportedV2(Envelope):
    """``BatchImported`` version 2, as older importers published it and the journal may still hold it:
    an object per outcome. Read as version 3."""

    ROUTING_KEY: ClassVar[str] = topology.BATCH_IMPORTED
    type: Literal["batch.imported"] = "batch.imported"
    version: Literal[2] = 2

    run_id: str
    sync_id: str
    seq: int = Field(ge=0)
    outcomes: list[RecordOutcome]
    superseded: list[Superseded] = Field(default_factory=lambda: [])

    def upgrade(self) -> BatchImported:
        return BatchImported(
            **self.model_dump(exclude={"type", "version", "outcomes", "superseded"}),
            outcomes=Outcomes.of(self.outcomes),
            superseded=self.superseded,
        )


class RecordOutcomeV1(_Data):
    """``RecordOutcome`` before version 2: the reason as text (``malformed: <problem>`` for malformed)."""

    record_id: str | None
    email: str | None
    outcome: Outcome
    reason: str | None = None

    def upgrade(self) -> RecordOutcome:
        if self.reason is None:
            return RecordOutcome(record_id=self.record_id, email=self.email, outcome=self.outcome)
        head, _, rest = self.reason.partition(":")
        known = head.strip() in IgnoreReason._value2member_map_
        reason = IgnoreReason(head.strip()) if known else IgnoreReason.MALFORMED
        problem = rest.strip() or None if known else self.reason
        return RecordOutcome(
            record_id=self.record_id, email=self.email, outcome=self.outcome, reason=reason, problem=problem
        )


class BatchImportedV1(Envelope):
    """``BatchImported`` version 1, as older importers published it and the journal may still hold it.

    It named no displaced outcomes (history used to work them out itself); read as version 3 with none.
    """

    ROUTING_KEY: ClassVar[str] = topology.BATCH_IMPORTED
    type: Literal["batch.imported"] = "batch.imported"
    version: Literal[1] = 1

    run_id: str
    sync_id: str
    seq: int = Field(ge=0)
    outcomes: list[RecordOutcomeV1]

    def upgrade(self) -> BatchImported:
        return BatchImported(
            **self.model_dump(exclude={"type", "version", "outcomes"}),
            outcomes=Outcomes.of(item.upgrade() for item in self.outcomes),
        )


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
    )
}


# Versions older than the current one that can still be read (the journal keeps what was published).
LEGACY_EVENT_TYPES: dict[tuple[str, int], type[Envelope]] = {
    (topology.BATCH_IMPORTED, 1): BatchImportedV1,
    (topology.BATCH_IMPORTED, 2): BatchImportedV2,
}


class UnreadableEvent(ValueError):
    """A body that is no event this version of the contracts can read; says why."""


def event_type_of(body: bytes | str | dict[str, Any], routing_key: str | None = None) -> type[Envelope]:
    """The contract class of a message: by its body's ``type`` and ``version``, else its routing key."""
    data = body if isinstance(body, dict) else _json_object(body)
    kind = data.get("type", routing_key)
    version = data.get("version", 1)
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise UnreadableEvent(f"unknown event type {kind!r}")
    current = EVENT_TYPES[kind]
    if version == current.model_fields["version"].default:
        return current
    legacy = LEGACY_EVENT_TYPES.get((kind, version)) if isinstance(version, int) else None
    if legacy is None:
        raise UnreadableEvent(f"{kind} version {version!r} is not one this service reads")
    return legacy


def read_event(body: bytes | str | dict[str, Any], routing_key: str | None = None) -> Envelope:
    """Any event, in its current version: older versions are upgraded (``BatchImportedV1``, ``V2``).

    Raises ``UnreadableEvent`` or pydantic's ``ValidationError``."""
    current = EVENT_TYPES.get(routing_key or "")
    if current is not None and not isinstance(body, dict):
        # the common case, parsed and validated in one pass by pydantic-core: 1.4 times faster than
        # orjson then validation for a batch's thousand typed outcomes (never Python dicts first);
        # anything else (an older version, a broken body) is read below, which says what is wrong
        try:
            return current.model_validate_json(body)
        except ValidationError:
            pass
    data = body if isinstance(body, dict) else _json_object(body)
    event = event_type_of(data, routing_key).model_validate(data)
    upgrade = getattr(event, "upgrade", None)
    return upgrade() if upgrade is not None else event


def _json_object(body: bytes | str) -> dict[str, Any]:
    import json

    try:
        data = json.loads(body)
    except ValueError as exc:
        raise UnreadableEvent(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UnreadableEvent("the body is not a JSON object")
    return data
