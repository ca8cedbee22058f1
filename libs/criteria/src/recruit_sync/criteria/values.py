"""Field values as criteria read them: emptiness, text forms, numbers, dates and date-times.

There is no field metadata here: a field's type is read from the record's JSON value (Recruit sends
numbers as numbers, booleans as booleans, multi-selects as lists, lookups as ``{"name", "id"}``, dates
as ``yyyy-MM-dd`` and date-times as ``yyyy-MM-ddTHH:mm:ss+HH:MM``; text and picklists as strings), and
a condition's value is read the way the record's type asks (docs/adr/0009).

``text_forms`` is also how Recruit's search compares a field (the simulator does exactly this), which is
what lets the planner prove a search selects what the local evaluator would.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

Scalar = str | int | float | bool
Number = int | float
Moment = date | datetime  # a datetime is also a date: test for datetime first

# What a user types for a number; no exponents, signs other than '-', or separators (those stay text).
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def text_forms(value: object) -> list[str]:
    """The texts a field value compares as: booleans ``true``/``false``; numbers as written (an integral
    float also as an integer: ``5.0`` is ``5.0`` and ``5``); a lookup by name and id; a list by each item."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, float):
        return [repr(value), str(int(value))] if value.is_integer() else [repr(value)]
    if isinstance(value, dict):
        return [str(value[key]) for key in ("name", "id") if value.get(key) is not None]
    if isinstance(value, list):
        return [text for item in value for text in text_forms(item)]
    return [str(value)]


def canonical_text(value: Scalar) -> str:
    """The one text of a condition value: ``true``, ``5`` for ``5`` and ``5.0``, ``5.5``, or the text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def is_empty(value: object) -> bool:
    """Missing, null, blank text, an empty list (or one of empty items), a lookup without name or id."""
    return not any(text.strip() for text in text_forms(value))


def as_number(value: object) -> Number | None:
    """A JSON number, or text that is a plain decimal (``-12``, ``3.50``); never a boolean."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value) if "." in value else int(value)
    return None


def is_canonical_number_text(text: str) -> bool:
    """Whether numeric ``text`` is exactly how a number's text form reads (``5``, ``-5``, ``5.5``), not
    another spelling of it (``05``, ``5.0``, ``-0``, ``5.50``)."""
    number = as_number(text)
    return number is not None and canonical_text(number) == text


def as_moment(value: object) -> Moment | None:
    """A ``yyyy-MM-dd`` date or an ISO 8601 date-time (a naive one read as UTC); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
        if _DATETIME.match(value):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


def looks_like_moment(value: object) -> bool:
    """Text shaped like a date or date-time (valid or not)."""
    return isinstance(value, str) and bool(_DATE.fullmatch(value) or _DATETIME.match(value))


def is_naive_datetime(value: object) -> bool:
    """A date-time without a UTC offset: ambiguous, so conditions refuse it."""
    if not isinstance(value, str) or not _DATETIME.match(value):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


def compare_moments(left: Moment, right: Moment) -> int:
    """-1, 0 or 1. When either side is a plain date the comparison is by day (a date-time counts as its
    own local day), so ``Created_Time greater_equal 2026-10-01`` includes the whole of October 1."""
    if isinstance(left, datetime) and isinstance(right, datetime):
        return (left > right) - (left < right)
    left_day, right_day = _day(left), _day(right)
    return (left_day > right_day) - (left_day < right_day)


def _day(moment: Moment) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def field_value(record: dict[str, Any], field: str) -> object:
    """The record's value for ``field``; ``Lookup.name`` / ``Lookup.id`` reach into a lookup (or into each
    object of a list)."""
    if field in record or "." not in field:
        return record.get(field)
    head, part = field.split(".", 1)
    base = record.get(head)
    if isinstance(base, dict):
        return base.get(part)
    if isinstance(base, list):
        return [item.get(part) for item in base if isinstance(item, dict)]
    return None
