"""A batch's raw records, read: what each record says, and checks 1-3 on its email
(``email_rules.classify_email``). Pure.

This runs before the batch takes its list's lock (``handlers.import_batch``): nothing here needs the
store, so a batch's parse never holds up another batch of the same list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recruit_sync.addresses import key_of_normalised
from recruit_sync.contracts.events import IgnoreReason, ImportSettings
from recruit_sync.contracts.records import (
    CONVERTED_FIELD,
    EMAIL_FIELD,
    ID_FIELD,
    OPT_OUT_FIELD,
    modified_fields,
)
from recruit_sync.importer.email_rules import classify_email
from recruit_sync.importer.mapping import (
    Unreadable,
    email_of,
    flag_of,
    mapped_fields,
    mapped_values,
    modified_time_of,
    record_id_of,
)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs three times as much, per record
class ParsedRecord:
    """A readable record. ``reason`` is set when checks 1-3 (empty, invalid, role) already refuse it."""

    record_id: str
    email: str | None  # normalised when valid, else the address as given (stripped), None when empty
    key: str | None  # the contact's email key, when checks 1-3 passed
    reason: IgnoreReason | None
    opted_out: bool
    converted: bool
    modified_at: datetime | None
    # mapped fields the record carries, converted: first_name / last_name, and the custom fields
    names: Mapping[str, str | None]
    custom: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    """A record that cannot be read (SPEC section 5: ignored ``malformed``, its problem recorded)."""

    record_id: str | None
    email: str | None
    problem: str


def read_records(
    records: Iterable[object], settings: ImportSettings, module: str
) -> list[ParsedRecord | MalformedRecord]:
    fields = mapped_fields(settings.mapping)
    modified = modified_fields(module)
    return [_read_record(record, fields, modified) for record in records]


def _read_record(
    record: object, fields: tuple[tuple[str, str], ...], modified: tuple[str, str]
) -> ParsedRecord | MalformedRecord:
    if not isinstance(record, dict):
        return MalformedRecord(None, None, "record is not an object")
    record_id = record.get(ID_FIELD)
    raw_email = record.get(EMAIL_FIELD)
    opted_out = record.get(OPT_OUT_FIELD)
    converted = record.get(CONVERTED_FIELD)
    # A usual record passes these checks inline; any other goes through the readers, which name its
    # problem (a reader's call costs as much as its check, and this runs for every record)
    if not (
        type(record_id) is str
        and record_id
        and (raw_email is None or type(raw_email) is str)
        and (opted_out is None or type(opted_out) is bool)
        and (converted is None or type(converted) is bool)
    ):
        record_id = raw_email = None
        try:
            record_id = record_id_of(record)
            raw_email = email_of(record)
            opted_out = flag_of(record, OPT_OUT_FIELD)
            converted = flag_of(record, CONVERTED_FIELD)
        except Unreadable as exc:
            return MalformedRecord(record_id, (raw_email or "").strip() or None, str(exc))
    try:
        names, custom = mapped_values(record, fields)
    except Unreadable as exc:
        return MalformedRecord(record_id, (raw_email or "").strip() or None, str(exc))
    normalised, reason = classify_email(raw_email)
    if normalised is not None:
        email: str | None = normalised
        key = key_of_normalised(normalised) if reason is None else None
    else:
        email, key = (raw_email or "").strip() or None, None
    # positional, in field order: keywords make this call twice as slow, and it runs for every record
    modified_at = modified_time_of(record, modified)
    return ParsedRecord(
        record_id, email, key, reason, opted_out is True, converted is True, modified_at, names, custom
    )


def records_to_look_up(parsed: Iterable[ParsedRecord | MalformedRecord]) -> list[tuple[str, str]]:
    """(record id, email key) of the records whose facts ``decide`` needs: those past checks 1-3."""
    return [(r.record_id, r.key) for r in parsed if isinstance(r, ParsedRecord) and r.key is not None]
