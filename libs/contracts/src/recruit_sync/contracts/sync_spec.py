"""The sync spec file of INTERFACE.md (``recruit-sync sync create --file``) as a pydantic model.

Unknown keys are refused; every error names the offending key (see ``describe_validation_error``).
Rules that need the clock or the database (the retrieval window's age, whether a connection exists)
are checked by the scheduler when the sync is created.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

DEFAULT_MAPPING: tuple[tuple[str, str], ...] = (
    ("Email", "email"),
    ("First_Name", "first_name"),
    ("Last_Name", "last_name"),
)
STANDARD_MODULES = ("Candidates", "Contacts", "Clients", "Job_Openings")
_CONTACT_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_API_NAME = re.compile(r"^\$?[A-Za-z][A-Za-z0-9_]{0,99}(\.[A-Za-z][A-Za-z0-9_]{0,99})?$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    GREATER_THAN = "greater_than"
    GREATER_EQUAL = "greater_equal"
    LESS_THAN = "less_than"
    LESS_EQUAL = "less_equal"
    BETWEEN = "between"
    IN = "in"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"


Scalar = str | int | float | bool


class Condition(_Strict):
    field: str
    operator: Operator
    value: Scalar | list[Scalar] | None = None

    @field_validator("field")
    @classmethod
    def _field_is_api_name(cls, v: str) -> str:
        if not _API_NAME.match(v):
            raise ValueError(f"{v!r} is not a Recruit field API name")
        return v

    @field_validator("operator", mode="before")
    @classmethod
    def _operator_is_known(cls, v: object) -> object:
        if isinstance(v, str) and v not in Operator._value2member_map_:
            known = ", ".join(op.value for op in Operator)
            raise ValueError(f"{v!r} is not an operator; use one of {known}")
        return v

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Condition:
        op = self.operator
        if op in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
            if self.value not in (None, "", []):
                raise ValueError(f"operator {op.value!r} takes no value")
        elif op is Operator.BETWEEN:
            if not isinstance(self.value, list) or len(self.value) != 2:
                raise ValueError("operator 'between' takes a list of two values [low, high]")
        elif op is Operator.IN:
            if not isinstance(self.value, list) or not self.value:
                raise ValueError("operator 'in' takes a non-empty list of values")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"operator {op.value!r} takes a single value")
        return self


class SelectAll(_Strict):
    kind: Literal["all"] = "all"


class SelectCustomView(_Strict):
    kind: Literal["custom_view"]
    cvid: str = Field(min_length=1, pattern=r"^\d+$")


class SelectCriteria(_Strict):
    kind: Literal["criteria"]
    conditions: list[Condition] = Field(min_length=1)
    pattern: str | None = None

    def effective_pattern(self) -> str:
        """The user's pattern, or the default left-nested AND of every condition."""
        if self.pattern:
            return self.pattern
        text = "1"
        for i in range(2, len(self.conditions) + 1):
            text = f"( {text} and {i} )"
        return text if len(self.conditions) > 1 else "( 1 )"


Selection = Annotated[SelectAll | SelectCustomView | SelectCriteria, Field(discriminator="kind")]


class OnRecruitDelete(StrEnum):
    KEEP = "keep"
    REMOVE_FROM_LIST = "remove_from_list"
    REMOVE_FROM_ORG = "remove_from_org"


class Options(_Strict):
    exclude_opt_out: bool = False
    on_recruit_delete: OnRecruitDelete = OnRecruitDelete.KEEP
    exclude_converted: bool = False


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Schedule(_Strict):
    kind: Literal["once", "daily", "weekly", "monthly"] = "once"
    at: str | None = None
    timezone: str = "UTC"
    weekday: Weekday | None = None
    day: int | None = Field(default=None, ge=1, le=31)

    @field_validator("at")
    @classmethod
    def _at_is_hhmm(cls, v: str | None) -> str | None:
        if v is not None and not _HHMM.match(v):
            raise ValueError(f"{v!r} is not a local time HH:MM")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone_is_iana(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone") from None
        return v

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> Schedule:
        if self.kind != "once" and self.at is None:
            raise ValueError(f"a {self.kind} schedule needs 'at' (HH:MM)")
        if self.kind == "weekly" and self.weekday is None:
            raise ValueError("a weekly schedule needs 'weekday'")
        if self.kind != "weekly" and self.weekday is not None:
            raise ValueError(f"'weekday' is only for weekly schedules, not {self.kind}")
        if self.kind == "monthly" and self.day is None:
            raise ValueError("a monthly schedule needs 'day' (1-31)")
        if self.kind != "monthly" and self.day is not None:
            raise ValueError(f"'day' is only for monthly schedules, not {self.kind}")
        return self


class Retrieval(_Strict):
    kind: Literal["all", "after"] = "all"
    after: datetime | None = None

    @model_validator(mode="after")
    def _after_fits_kind(self) -> Retrieval:
        if self.kind == "after":
            if self.after is None:
                raise ValueError("retrieval 'after' needs an 'after' date-time")
            if self.after.tzinfo is None:
                raise ValueError("retrieval 'after' needs a UTC offset, e.g. 2026-11-01T00:00:00+05:30")
        elif self.after is not None:
            raise ValueError("'after' is only for retrieval kind 'after'")
        return self


class FieldMapping(_Strict):
    from_: str = Field(alias="from")
    to: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("from_")
    @classmethod
    def _from_is_api_name(cls, v: str) -> str:
        if not _API_NAME.match(v):
            raise ValueError(f"{v!r} is not a Recruit field API name")
        return v

    @field_validator("to")
    @classmethod
    def _to_is_contact_field(cls, v: str) -> str:
        if not _CONTACT_FIELD.match(v):
            raise ValueError(f"{v!r} is not a contact field name (lower case letters, digits, _)")
        return v

    @model_validator(mode="after")
    def _email_stays_mapped(self) -> FieldMapping:
        if self.to == "email" and self.from_ != "Email":
            raise ValueError("'email' is always mapped from Email and cannot be remapped")
        return self


Mappings = list[FieldMapping]  # the spec has a key named "list", which shadows the builtin in class bodies


class AlertEvent(StrEnum):
    """What an alert notifies (INTERFACE ``alerts``), once per change of state."""

    RUN_FAILED = "run_failed"
    RUN_RECOVERED = "run_recovered"
    IGNORED_ABOVE = "ignored_above"
    VOLUME_DROP = "volume_drop"
    SYNC_DEACTIVATED = "sync_deactivated"


_DEFAULT_EVENTS = (AlertEvent.RUN_FAILED, AlertEvent.RUN_RECOVERED, AlertEvent.SYNC_DEACTIVATED)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


class _Alert(_Strict):
    """One place to notify; ``on`` defaults to failures, recoveries and deactivation, plus each threshold
    the alert sets."""

    on: list[AlertEvent] = Field(min_length=1)
    ignored_above: float | None = Field(default=None, gt=0, lt=1)
    volume_drop: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _default_events(cls, data: Any) -> Any:
        if isinstance(data, dict) and "on" not in data:
            events = [event.value for event in _DEFAULT_EVENTS]
            events += [key for key in ("ignored_above", "volume_drop") if data.get(key) is not None]
            data = {**data, "on": events}
        return data

    @field_validator("on")
    @classmethod
    def _no_repeats(cls, v: list[AlertEvent]) -> list[AlertEvent]:
        if len(set(v)) != len(v):
            raise ValueError("lists an event more than once")
        return v

    @model_validator(mode="after")
    def _thresholds_set(self) -> _Alert:
        for event, value in (
            (AlertEvent.IGNORED_ABOVE, self.ignored_above),
            (AlertEvent.VOLUME_DROP, self.volume_drop),
        ):
            if event in self.on and value is None:
                raise ValueError(f"'on' includes {event.value!r}, which needs '{event.value}' (a share, 0-1)")
        return self


class WebhookAlert(_Alert):
    """POSTs JSON signed with ``secret`` (HMAC-SHA256).

    The secret is write-only: a request carries it, and the scheduler keeps it encrypted apart from the
    spec (it requires one for a new URL and keeps the stored one when an edit leaves it out). The spec it
    stores, shows and sends in events has none: a dump leaves an unset secret out, and the answers'
    schema (serialization mode) has no room for one.
    """

    kind: Literal["webhook"]
    url: str
    secret: str | None = Field(default=None, min_length=1, max_length=500, exclude_if=lambda v: v is None)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if handler.mode == "serialization":
            handler.resolve_ref_schema(schema)["properties"].pop("secret", None)
        return schema

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, v: str) -> str:
        if not _URL.match(v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v


class EmailAlert(_Alert):
    kind: Literal["email"]
    to: list[str] = Field(min_length=1)

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for address in v:
            if not _EMAIL.match(address):
                raise ValueError(f"{address!r} is not an email address")
        return v


Alert = Annotated[WebhookAlert | EmailAlert, Field(discriminator="kind")]
Alerts = list[Alert]  # ``list`` is shadowed in the spec's class body


class AlertNotification(BaseModel):
    """One notification of a sync's alerts and its delivery (``recruit-sync alerts SYNC``); never the
    webhook's secret."""

    model_config = ConfigDict(frozen=True)

    id: int
    sync_id: str
    run_id: str | None
    event: AlertEvent
    channel: Literal["webhook", "email"]
    target: str  # the webhook's URL or the email's addresses
    created_at: datetime
    status: Literal["pending", "delivered", "gave_up"]
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None  # while pending
    delivered_at: datetime | None


class SyncSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    connection: str = Field(min_length=1)
    module: str = "Candidates"
    selection: Selection = Field(default_factory=SelectAll)
    list: str = Field(min_length=1, max_length=200)
    options: Options = Field(default_factory=Options)
    schedule: Schedule = Field(default_factory=Schedule)
    retrieval: Retrieval = Field(default_factory=Retrieval)
    mapping: Mappings = Field(default_factory=lambda: [])
    favourite: str | None = None
    alerts: Alerts = Field(default_factory=lambda: [])

    @field_validator("module")
    @classmethod
    def _module_is_api_name(cls, v: str) -> str:
        if not _API_NAME.match(v) or "." in v:
            raise ValueError(f"{v!r} is not a module API name")
        return v

    @field_validator("name", "list")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @model_validator(mode="after")
    def _consistent(self) -> SyncSpec:
        if self.options.exclude_converted and self.module != "Candidates":
            raise ValueError("options.exclude_converted applies to the Candidates module only")
        targets = [m.to for m in self.mapping]
        dupes = sorted({t for t in targets if targets.count(t) > 1})
        if dupes:
            raise ValueError(f"mapping sends more than one field to {', '.join(dupes)}")
        return self

    def full_mapping(self) -> Mappings:
        """The defaults plus the user's mapping (a user entry for a default target replaces it)."""
        overridden = {m.to for m in self.mapping}
        defaults = [FieldMapping(**{"from": f, "to": t}) for f, t in DEFAULT_MAPPING if t not in overridden]
        return defaults + list(self.mapping)


class SyncSpecPatch(_Strict):
    """``sync edit --file``: the parts of a sync that may change after creation."""

    selection: Selection | None = None
    list: str | None = None
    options: Options | None = None
    schedule: Schedule | None = None
    retrieval: Retrieval | None = None
    mapping: Mappings | None = None
    favourite: str | None = None
    name: str | None = None
    alerts: Alerts | None = None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the key path: ``schedule.timezone: 'Mars/Olympus' is not ...``."""
    lines = []
    for err in exc.errors():
        # a union's tag (``selection.criteria.conditions``) is pydantic's, not a key the user wrote; a
        # top-level key that happens to spell a tag (``email``) is the user's
        parts = err["loc"]
        loc = ".".join(str(p) for i, p in enumerate(parts) if i == 0 or not _is_union_tag(p)) or "(spec)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{loc}: {msg}")
    return "; ".join(lines)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in {"all", "custom_view", "criteria", "webhook", "email"}
