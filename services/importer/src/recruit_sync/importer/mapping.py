"""Reading one Recruit record: its id, email, flags and mapped contact fields (SPEC section 4).

Pure. A value that cannot become a contact field value raises ``Unreadable`` naming the field, and the
record is ignored as ``malformed`` (SPEC section 5); it never stops the batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from recruit_sync.contracts.records import EMAIL_FIELD, ID_FIELD
from recruit_sync.contracts.sync_spec import FieldMapping

# Contact columns; every other mapped target lives in the contact's `fields` (jsonb).
NAME_COLUMNS: Final = frozenset({"first_name", "last_name"})

# Recruit sends dates as yyyy-MM-dd and date-times as yyyy-MM-ddTHH:mm:ss+HH:MM (already ISO 8601), but
# some accounts and exports use a space or milliseconds; those are rewritten to the canonical form.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?")


class Unreadable(ValueError):
    """The record cannot be read; says why (``id missing``, ``Email is not a string``)."""


def mapped_fields(mapping: Iterable[FieldMapping]) -> tuple[tuple[str, str], ...]:
    """(Recruit field, contact field) pairs of ``settings.mapping``, minus ``Email -> email``: the email
    always comes from ``Email`` (SPEC section 4) and is read on its own."""
    return tuple((entry.from_, entry.to) for entry in mapping if entry.to != "email")


def record_id_of(record: Mapping[str, Any]) -> str:
    value = record.get(ID_FIELD)
    if value is None or value == "":
        raise Unreadable("id missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Unreadable("id is not a string")
    return str(value)


def email_of(record: Mapping[str, Any]) -> str | None:
    """The record's ``Email``: always the contact's address, whatever the mapping says (SPEC section 4)."""
    value = record.get(EMAIL_FIELD)
    if value is not None and not isinstance(value, str):
        raise Unreadable(f"{EMAIL_FIELD} is not a string")
    return value


def flag_of(record: Mapping[str, Any], field: str) -> bool:
    """A boolean flag (``Email_Opt_Out``, ``$converted``); absent or null means false."""
    value = record.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise Unreadable(f"{field} is not a boolean")
    return value


def modified_time_of(record: Mapping[str, Any], fields: tuple[str, str]) -> datetime | None:
    """When Recruit last changed the record, from ``fields`` (``contracts.records.modified_fields``:
    ``Updated_On`` for Candidates, ``Modified_Time`` for the other modules, each falling back on the
    other). A time without an offset is taken as UTC.

    Only used to choose among file duplicates, so an unreadable value is treated as unknown (oldest).
    """
    first, second = fields
    value = record.get(first) or record.get(second)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def mapped_values(
    record: Mapping[str, Any], fields: Iterable[tuple[str, str]]
) -> tuple[dict[str, str | None], dict[str, Any]]:
    """(names, custom fields): contact field -> converted value, for each mapped field the record carries.

    A field absent from the record is left out (the contact keeps its value); a field present with
    null becomes null.
    """
    names: dict[str, str | None] = {}
    custom: dict[str, Any] = {}
    for source, target in fields:
        if source not in record:
            continue
        value = record[source]
        # plain text needs no conversion unless it may be a date (``_canonical_date_time``): most values
        # of most records, spared a call each
        if type(value) is not str or value[4:5] == "-":
            value = convert_value(source, value)
        if target in NAME_COLUMNS:
            if value is not None and not isinstance(value, str):
                raise Unreadable(f"{source} is not text (mapped to {target})")
            names[target] = value
        else:
            custom[target] = value
    return names, custom


def convert_value(field: str, value: Any) -> Any:
    """SPEC section 4: ISO 8601 dates, numbers, booleans, picklists as text, multi-selects as lists,
    lookups ``{"name", "id"}`` as their name."""
    if type(value) is str:  # the common case first: this runs for every mapped field of every record
        return _canonical_date_time(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return _lookup_name(field, value)
    if isinstance(value, list):
        return [_list_item(field, item) for item in value]
    raise Unreadable(f"{field} has a value of unsupported type {type(value).__name__}")


def _canonical_date_time(text: str) -> str:
    if text[4:5] == "-" and _DATE_TIME.fullmatch(text):  # the slice spares most text the regex
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            return text
    return text


def _lookup_name(field: str, value: dict[str, Any]) -> str | None:
    name = value.get("name")
    if "name" not in value:
        raise Unreadable(f"{field} is an object without a name")
    if name is not None and not isinstance(name, str):
        raise Unreadable(f"{field}.name is not a string")
    return name


def _list_item(field: str, item: Any) -> Any:
    if isinstance(item, list):
        raise Unreadable(f"{field} is a list of lists")
    return convert_value(field, item)
