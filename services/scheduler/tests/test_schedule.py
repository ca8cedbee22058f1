"""next_due_at: recurrence, time zones, DST gaps and folds, month-end clamping (SPEC 2.6)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from recruit_sync.contracts.sync_spec import Schedule
from recruit_sync.scheduler.schedule import next_due_at


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def daily(at: str, tz: str = "UTC") -> Schedule:
    return Schedule(kind="daily", at=at, timezone=tz)


def monthly(day: int, at: str = "09:00", tz: str = "UTC") -> Schedule:
    return Schedule(kind="monthly", day=day, at=at, timezone=tz)


def weekly(weekday: str, at: str, tz: str = "UTC") -> Schedule:
    return Schedule(kind="weekly", weekday=weekday, at=at, timezone=tz)


CASES = [
    # id, schedule, after (UTC), expected (UTC)
    ("daily later today", daily("09:00"), "2026-01-10 08:00", "2026-01-10 09:00"),
    ("daily exactly at the time goes to tomorrow", daily("09:00"), "2026-01-10 09:00", "2026-01-11 09:00"),
    ("daily Kolkata", daily("09:30", "Asia/Kolkata"), "2026-01-10 00:00", "2026-01-10 04:00"),
    (
        "Kolkata local date ahead of UTC",
        daily("02:00", "Asia/Kolkata"),
        "2026-01-10 21:00",  # 02:30 IST on the 11th: today's 02:00 has passed
        "2026-01-11 20:30",  # 02:00 IST on the 12th
    ),
    (
        "weekly Kolkata Monday",
        weekly("monday", "09:30", "Asia/Kolkata"),
        "2026-01-10 00:00",
        "2026-01-12 04:00",
    ),
    ("weekly same day before the time", weekly("saturday", "10:00"), "2026-01-10 09:00", "2026-01-10 10:00"),
    ("weekly same day after the time", weekly("saturday", "10:00"), "2026-01-10 11:00", "2026-01-17 10:00"),
    # America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST
    (
        "NY gap runs when clocks jump",
        daily("02:30", "America/New_York"),
        "2026-03-08 05:00",
        "2026-03-08 07:00",
    ),
    ("NY day after the gap", daily("02:30", "America/New_York"), "2026-03-08 07:00", "2026-03-09 06:30"),
    ("NY fold first occurrence", daily("01:30", "America/New_York"), "2026-11-01 04:00", "2026-11-01 05:30"),
    ("NY fold never twice", daily("01:30", "America/New_York"), "2026-11-01 05:30", "2026-11-02 06:30"),
    # Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT
    ("London gap", daily("01:30", "Europe/London"), "2026-03-29 00:00", "2026-03-29 01:00"),
    ("London fold first occurrence", daily("01:15", "Europe/London"), "2026-10-25 00:00", "2026-10-25 00:15"),
    ("London fold never twice", daily("01:15", "Europe/London"), "2026-10-25 00:15", "2026-10-26 01:15"),
    (
        "London weekly across the gap",
        weekly("sunday", "01:00", "Europe/London"),
        "2026-03-28 12:00",
        "2026-03-29 01:00",
    ),
    # Lord Howe shifts by 30 minutes: 2026-10-04 02:00 -> 02:30 (+10:30 -> +11:00)
    ("half-hour gap", daily("02:15", "Australia/Lord_Howe"), "2026-10-03 12:00", "2026-10-03 15:30"),
    # month-end clamping
    ("day 31 in non-leap February", monthly(31), "2026-02-01 00:00", "2026-02-28 09:00"),
    ("day 29 in non-leap February", monthly(29), "2027-02-01 00:00", "2027-02-28 09:00"),
    ("day 29 in leap February", monthly(29), "2028-02-01 00:00", "2028-02-29 09:00"),
    ("day 30 in leap February", monthly(30), "2028-02-01 00:00", "2028-02-29 09:00"),
    ("day 31 in leap February", monthly(31), "2028-02-01 00:00", "2028-02-29 09:00"),
    ("day 31 after January's run", monthly(31), "2026-01-31 09:00", "2026-02-28 09:00"),
    ("day 31 in April", monthly(31), "2026-04-01 00:00", "2026-04-30 09:00"),
    ("day 31 in a long month", monthly(31), "2026-02-28 09:00", "2026-03-31 09:00"),
    ("monthly across the year end", monthly(15), "2026-12-20 00:00", "2027-01-15 09:00"),
    ("monthly Kolkata day 1", monthly(1, "02:00", "Asia/Kolkata"), "2026-01-31 21:00", "2026-02-28 20:30"),
    (
        "monthly NY on a gap day",
        monthly(8, "02:30", "America/New_York"),
        "2026-03-01 00:00",
        "2026-03-08 07:00",
    ),
    (
        "once at a time",
        Schedule(kind="once", at="18:00", timezone="Asia/Kolkata"),
        "2026-01-10 13:00",
        "2026-01-11 12:30",
    ),
]


@pytest.mark.parametrize(("schedule", "after", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_next_due_at(schedule: Schedule, after: str, expected: str) -> None:
    assert next_due_at(schedule, utc(after)) == utc(expected)


def test_once_without_a_time_runs_immediately() -> None:
    now = utc("2026-05-01 10:11:12")
    assert next_due_at(Schedule(), now) == now


def test_once_is_never_due_again_after_it_ran() -> None:
    assert next_due_at(Schedule(), utc("2026-05-01 10:00"), ran=True) is None
    assert next_due_at(Schedule(kind="once", at="09:00"), utc("2026-05-01 10:00"), ran=True) is None


def test_recurring_schedules_ignore_ran() -> None:
    assert next_due_at(daily("09:00"), utc("2026-05-01 10:00"), ran=True) == utc("2026-05-02 09:00")


def test_downtime_gives_one_catch_up_occurrence() -> None:
    """After a week down, the next due time is the first one after recovery, not the missed ones."""
    recovered = utc("2026-05-08 12:00")
    assert next_due_at(daily("09:00"), recovered) == utc("2026-05-09 09:00")


def test_a_dst_year_of_daily_runs_is_once_per_local_day() -> None:
    """A year of daily 02:30 New York runs: one per local date, at 02:30 except 03:00 on the gap day."""
    schedule = daily("02:30", "America/New_York")
    zone = ZoneInfo("America/New_York")
    due = next_due_at(schedule, utc("2025-12-31 12:00"))
    local_runs = []
    while due is not None and due.year == 2026:
        local_runs.append(due.astimezone(zone))
        due = next_due_at(schedule, due)
    assert len({run.date() for run in local_runs}) == len(local_runs) == 365
    off_time = [run.isoformat() for run in local_runs if run.strftime("%H:%M") != "02:30"]
    assert off_time == ["2026-03-08T03:00:00-04:00"]


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_due_at(daily("09:00"), datetime(2026, 1, 1))
