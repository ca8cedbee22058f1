"""What the HTTP API and the services exchange over RPC: one request and one answer model per operation.

The API declares these as its request bodies and response models, and the services validate the same
models on their side (``contracts.rpc`` pairs each operation with its two models), so a shape is defined
once: a connection, a rekey, a favourite, a suppression reason. Requests refuse unknown keys; errors
name the key (``describe_validation_error``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from recruit_sync.contracts.events import IgnoreReason, Outcome, RecordBatch, RunCounts
from recruit_sync.contracts.sync_spec import FieldMapping, SyncSpec, SyncSpecPatch

# PostgreSQL integer columns hold 32 bits; a larger count is refused as a bad request, not a 500.
MAX_INT32 = 2**31 - 1

# Times as ``datetime.isoformat`` writes them (``+00:00``, not pydantic's ``Z``): the CLI's and scripts'
# established spelling, with the offset of the zone the service chose (a sync's own, for its times).
IsoTime = Annotated[
    datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json")
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArguments(_Request):
    """An operation that takes nothing."""


# --- connections -------------------------------------------------------------------------------------


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


class NewConnection(_Request):
    """``connection add``: one Recruit account (SPEC section 1). Secrets are stored encrypted."""

    name: str = Field(min_length=1, max_length=200)
    base_url: str = Field(description="Recruit data-centre URL")
    accounts_url: str = Field(description="OAuth accounts server")
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)
    primary_email: str | None = None
    daily_credit_budget: int | None = Field(default=None, ge=1, le=MAX_INT32)

    @field_validator("base_url", "accounts_url")
    @classmethod
    def _is_http_url(cls, value: str) -> str:
        return _http_url(value)


class CredentialChanges(_Request):
    """``connection rekey``: new credentials or primary email; any change deactivates its syncs."""

    refresh_token: str | None = Field(default=None, min_length=1)
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: str | None = Field(default=None, min_length=1)
    primary_email: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _changes_something(self) -> CredentialChanges:
        if not self.model_fields_set & set(CredentialChanges.model_fields):
            raise ValueError("give at least one of refresh_token, client_id, client_secret, primary_email")
        return self


class Rekey(CredentialChanges):
    name: str = Field(min_length=1)


class Connection(_Answer):
    """A connection as shown: never its secrets. ``credits_spent``: its runs' credits in the last 24 h."""

    id: str
    name: str
    base_url: str
    accounts_url: str
    client_id: str
    primary_email: str | None
    daily_credit_budget: int | None
    credentials_version: int
    created_at: IsoTime
    credits_spent: int


class Created(_Answer):
    id: str


class Rekeyed(_Answer):
    id: str
    deactivated: list[str] = Field(description="the syncs that became inactive")


# --- syncs -------------------------------------------------------------------------------------------


class SyncRef(_Request):
    id: str = Field(min_length=1, description="a sync id or name")


class CreateSync(_Request):
    spec: SyncSpec


class EditSync(SyncRef):
    patch: SyncSpecPatch


class RunSync(SyncRef):
    full: bool = False


SyncState = Literal["active", "inactive", "paused", "completed"]
WindowKind = Literal["full", "incremental"]


class SyncDetail(_Answer):
    """``sync show --json`` (INTERFACE.md): times in the sync's own time zone."""

    id: str
    name: str
    state: SyncState
    state_reason: str | None
    next_due_at: IsoTime | None
    last_retrieval_at: IsoTime | None
    last_retrieval_kind: WindowKind | None
    settings_version: int
    created_at: IsoTime
    connection: str
    spec: SyncSpec
    mapping: list[FieldMapping] = Field(description="the defaults plus the spec's own mapping")
    timezone: str
    options_enabled_at: dict[str, IsoTime]
    run_in_flight: str | None


class RunStarted(_Answer):
    run_id: str
    started: bool = Field(description="false when a run was in progress already; run_id names it")


class Favourite(_Request):
    """A named, saved mapping any sync can load (SPEC section 4)."""

    name: str = Field(min_length=1, max_length=200)
    mapping: list[FieldMapping]


class FavouriteSaved(_Answer):
    name: str


# --- runs (history) ----------------------------------------------------------------------------------


class RunsOfSync(_Request):
    sync_id: str = Field(min_length=1)


class RunRef(_Request):
    run_id: str = Field(min_length=1)


class RecordsQuery(RunRef):
    outcome: Outcome | None = None
    limit: int | None = Field(default=None, ge=0)
    offset: int = Field(default=0, ge=0)


class RecordRow(_Answer):
    """``runs records --json``: ``reason`` names the ignore reason (with the problem, for malformed)."""

    record_id: str | None
    email: str | None
    outcome: Outcome
    reason: str | None


class EmailQuery(_Request):
    email: str = Field(min_length=1)


class ExplainRow(_Answer):
    """``explain EMAIL --json``, newest first."""

    run_id: str
    sync_id: str
    record_id: str | None
    outcome: Outcome
    reason: str | None
    at: IsoTime


class JournalEvent(_Answer):
    """One of a run's events as the journal holds it: its type, when it happened and how many records
    it speaks of (fetched or deleted; null for an event about none)."""

    type: str
    at: IsoTime
    records: int | None


class Replay(_Answer):
    """``replay RUN_ID --json``: the run's events in journal order, their outcomes counted again, and
    whether that equals what history recorded (each difference named)."""

    run_id: str
    events: list[JournalEvent]
    journal_summary: RunCounts
    matches_history: bool
    differences: list[str]


class DryRunRequest(_Request):
    """What the importer needs to re-decide a run (``replay RUN_ID --dry-run``): the run and its times,
    as history recorded them, to find its events in the journal."""

    run_id: str = Field(min_length=1)
    started_at: datetime
    finished_at: datetime | None = None


class OutcomeDifference(_Answer):
    """One record the dry run decided otherwise (null: no outcome on that side, e.g. a deletion one side
    did not act on)."""

    record_id: str | None
    email: str | None
    recorded: Outcome | None
    replayed: Outcome | None
    recorded_reason: IgnoreReason | None
    replayed_reason: IgnoreReason | None


class DryRun(_Answer):
    """``replay RUN_ID --dry-run --json``: the run's batches decided again by today's code against the
    store as the run found it (docs/adr/0020). An empty ``differences`` means the run reproduces;
    ``differences_total`` counts them all when the list names only the first ``MAX_DIFFERENCES``."""

    run_id: str
    recorded: RunCounts
    replayed: RunCounts
    differences: list[OutcomeDifference]
    differences_total: int
    batches: int


MAX_DIFFERENCES = 1000
PREVIEW_SAMPLES = 20


class PreviewRequest(_Request):
    """``sync preview ID`` (``id``, a sync's id or name) or ``sync preview --file SPEC.json`` (``spec``)."""

    id: str | None = Field(default=None, min_length=1)
    spec: SyncSpec | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PreviewRequest:
        if (self.id is None) == (self.spec is None):
            raise ValueError("give either id (a sync's id or name) or spec (a sync spec), not both")
        return self


class Sample(_Answer):
    record_id: str | None
    email: str | None
    reason: IgnoreReason | None = None


class PreviewOutcomes(_Answer):
    """What the records of a preview would become: the run summary's counts, and up to
    ``PREVIEW_SAMPLES`` records per outcome."""

    summary: RunCounts
    samples: dict[Outcome, list[Sample]]


class Preview(PreviewOutcomes):
    """``sync preview --json``: what a run would do now, and what fetching for it cost in Recruit."""

    api_calls: int
    credits: int


class Scratch(_Request):
    """A scratch copy of the contact store (docs/adr/0020), named by the importer."""

    scratch: str = Field(pattern=r"^scratch_[0-9a-f]{32}$")


class PreviewBatch(Scratch):
    """One batch of a preview, decided in its scratch store."""

    batch: RecordBatch


# --- lists and suppressions (importer) ---------------------------------------------------------------


class SuppressionReason(StrEnum):
    """The suppression registry's reasons (SPEC section 1); each is also the ignore reason it causes."""

    BOUNCED = IgnoreReason.BOUNCED.value
    DO_NOT_MAIL = IgnoreReason.DO_NOT_MAIL.value


class ListRef(_Request):
    list: str = Field(min_length=1)


class Member(BaseModel):
    """``list members --json``: the names and every mapped contact field beside them."""

    model_config = ConfigDict(extra="allow", frozen=True)

    email: str
    first_name: str | None
    last_name: str | None


class ListInfo(_Answer):
    name: str
    members: int


class Suppress(_Request):
    reason: SuppressionReason
    emails: list[str] = Field(min_length=1)


class Unsuppress(_Request):
    emails: list[str] = Field(min_length=1)


class SuppressionsQuery(_Request):
    reason: SuppressionReason | None = None


class Suppressed(_Answer):
    added: int
    invalid: list[str] = Field(description="entries that are not email addresses")


class Unsuppressed(_Answer):
    removed: int
    invalid: list[str]


class Suppression(_Answer):
    email: str
    reason: SuppressionReason
    created_at: IsoTime


# --- dead letters (the API reads the broker itself: runtime.dead_letters) ---------------------------


class DeadLetter(_Answer):
    """One dead-lettered message as ``dlq list`` shows it: never its body (a batch holds addresses, a
    ``SyncDue`` a connection's encrypted secrets), only what says where it came from and why."""

    message_id: str | None
    run_id: str | None = Field(description="the AMQP correlation id, if the message had one")
    event_type: str | None = Field(description="the routing key it was published with")
    reason: str = Field(description="why its consumer refused it, or RabbitMQ's reason")
    dead_lettered_at: IsoTime | None
    age_seconds: float | None
    size: int = Field(description="the body's length in bytes")
    retries: int = Field(description="times 'dlq retry' has put it back before")


class DeadLetterQueue(_Answer):
    """A work queue's dead-letter queue: how many messages it holds and the first ``shown`` of them."""

    queue: str = Field(description="the work queue, as 'dlq retry' and 'dlq purge' take it")
    dlq: str
    count: int
    messages: list[DeadLetter]


class DeadLettersRetried(_Answer):
    queue: str
    dlq: str
    retried: int = Field(description="messages put back into the work queue")


class DeadLettersPurged(_Answer):
    queue: str
    dlq: str
    purged: int = Field(description="messages dropped")
