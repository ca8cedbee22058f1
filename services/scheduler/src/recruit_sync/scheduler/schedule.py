"""When a sync is next due: SPEC section 2.6, pure (no clock, no I/O).

Occurrences are local wall-clock times in the schedule's IANA zone. Two daylight-saving rules:

* a local time that does not exist (spring-forward gap) runs at the first valid instant after it,
  i.e. the instant the clocks jump (02:30 on a New York spring-forward day runs at 03:00 EDT);
* an ambiguous local time (fall-back) runs once, at its first occurrence (``fold=0``).

Only one instant per local date is ever a candidate, so a period is never run twice nor skipped.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from recruit_sync.contracts.sync_spec import Schedule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def next_due_at(schedule: Schedule, after: datetime, *, ran: bool = False) -> datetime | None:
    """The first occurrence of ``schedule`` strictly after ``after`` (aware), in UTC.

    ``once``: None when it has already ``ran``; otherwise the first occurrence of ``at`` after
    ``after``, or ``after`` itself (run immediately) when no ``at`` is given.
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    if schedule.kind == "once":
        if ran:
            return None
        if schedule.at is None:
            return after.astimezone(UTC)
    assert schedule.at is not None  # Schedule refuses a recurring kind without 'at'
    zone = ZoneInfo(schedule.timezone)
    at = time.fromisoformat(schedule.at)
    # Start a day early: a gap around midnight can move an occurrence onto the next local date.
    start = after.astimezone(zone).date() - timedelta(days=1)
    for day in _candidate_dates(schedule, start):
        due = resolve_local(day, at, zone)
        if due > after:
            return due
    raise AssertionError("unreachable: candidate dates are unbounded")


def _candidate_dates(schedule: Schedule, start: date) -> Iterator[date]:
    """Local dates on or after ``start`` on which the schedule fires, in order (unbounded)."""
    if schedule.kind == "monthly":
        assert schedule.day is not None
        year, month = start.year, start.month
        while True:
            last = calendar.monthrange(year, month)[1]
            day = date(year, month, min(schedule.day, last))  # 29-31 fall on a shorter month's last day
            if day >= start:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    day = start
    while True:
        if schedule.kind != "weekly" or WEEKDAYS[day.weekday()] == schedule.weekday:
            yield day
        day += timedelta(days=1)


def resolve_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of local ``day at`` in ``zone``, by the gap and fold rules above."""
    wall = datetime.combine(day, at, tzinfo=zone)  # fold=0: the first occurrence when ambiguous
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    return _end_of_gap(wall, zone)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jump over the nonexistent local time ``wall``.

    Read with the offset after the jump (fold=1) the wall time falls before the transition, with the
    offset before it (fold=0) at or after it: bisect between the two, to the second.
    """
    low = int(wall.replace(fold=1).astimezone(UTC).timestamp())
    high = int(wall.replace(fold=0).astimezone(UTC).timestamp())
    before = _offset(low, zone)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(middle, zone) == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _offset(timestamp: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, zone).utcoffset()
