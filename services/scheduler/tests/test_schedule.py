"""next_due_at: recurrence, time zones, DST gaps and folds, month-end clamping (SPEC 2.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    # America/New_York, more edges of both changes
    ("NY gap at exactly 02:00", daily("02:00", "America/New_York"), "2026-03-08 05:00", "2026-03-08 07:00"),
    (
        "NY weekly Sunday across the gap",
        weekly("sunday", "02:30", "America/New_York"),
        "2026-03-02 00:00",
        "2026-03-08 07:00",
    ),
    (
        "NY fold at 01:00 first occurrence",
        daily("01:00", "America/New_York"),
        "2026-11-01 04:30",
        "2026-11-01 05:00",
    ),
    (
        # the date's one occurrence is the first 01:30; created after it, the sync waits for the next date
        "NY created between the two 01:30s",
        daily("01:30", "America/New_York"),
        "2026-11-01 05:45",
        "2026-11-02 06:30",
    ),
    (
        "NY 02:00 on fall-back day is unambiguous",
        daily("02:00", "America/New_York"),
        "2026-11-01 05:00",
        "2026-11-01 07:00",
    ),
    # Europe/London
    ("London summer time", daily("09:00", "Europe/London"), "2026-07-01 00:00", "2026-07-01 08:00"),
    ("London fold at 01:00", daily("01:00", "Europe/London"), "2026-10-24 23:30", "2026-10-25 00:00"),
    (
        "London weekly Sunday in the fold",
        weekly("sunday", "01:30", "Europe/London"),
        "2026-10-24 12:00",
        "2026-10-25 00:30",
    ),
    # Australia/Lord_Howe: +10:30 in winter; 2026-04-05 02:00 (+11:00) -> 01:30 (+10:30)
    ("Lord Howe winter", daily("09:00", "Australia/Lord_Howe"), "2026-07-01 00:00", "2026-07-01 22:30"),
    (
        "Lord Howe half-hour fold first",
        daily("01:45", "Australia/Lord_Howe"),
        "2026-04-04 12:00",
        "2026-04-04 14:45",
    ),
    (
        "Lord Howe half-hour fold never twice",
        daily("01:45", "Australia/Lord_Howe"),
        "2026-04-04 14:45",
        "2026-04-05 15:15",
    ),
    (
        "Lord Howe 02:30 exists on gap day",
        daily("02:30", "Australia/Lord_Howe"),
        "2026-10-03 12:00",
        "2026-10-03 15:30",
    ),
    (
        "Lord Howe monthly on the gap",
        monthly(4, "02:00", "Australia/Lord_Howe"),
        "2026-09-10 00:00",
        "2026-10-03 15:30",
    ),
    # Asia/Kolkata: +05:30 all year, so the local weekday or month can differ from UTC's
    (
        "Kolkata weekly Monday is Sunday in UTC",
        weekly("monday", "01:00", "Asia/Kolkata"),
        "2026-01-10 00:00",
        "2026-01-11 19:30",
    ),
    (
        "Kolkata day 31 in February",
        monthly(31, "00:15", "Asia/Kolkata"),
        "2026-02-01 00:00",
        "2026-02-27 18:45",
    ),
    # leap years, and clamping that does not stick
    ("day 31 in leap February 2024", monthly(31), "2024-02-01 00:00", "2024-02-29 09:00"),
    ("day 29 in 2100 (not a leap year)", monthly(29), "2100-02-01 00:00", "2100-02-28 09:00"),
    ("day 30 back to the 30th after February", monthly(30), "2026-02-28 09:00", "2026-03-30 09:00"),
    # gaps at midnight and a whole skipped day
    ("Sao Paulo midnight gap", daily("00:30", "America/Sao_Paulo"), "2018-11-03 12:00", "2018-11-04 03:00"),
    (
        "Apia's skipped 30 Dec 2011 runs at the jump",
        daily("10:00", "Pacific/Apia"),
        "2011-12-29 20:00",
        "2011-12-30 10:00",
    ),
    (
        "Apia the day after the skipped one",
        daily("10:00", "Pacific/Apia"),
        "2011-12-30 10:00",
        "2011-12-30 20:00",
    ),
    (
        "once at a time in the gap",
        Schedule(kind="once", at="02:30", timezone="America/New_York"),
        "2026-03-08 05:00",
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


@pytest.mark.parametrize(
    ("at", "tz", "off_time"),
    [
        ("02:30", "America/New_York", ["2026-03-08T03:00:00-04:00"]),
        ("01:30", "Europe/London", ["2026-03-29T02:00:00+01:00"]),
        ("02:15", "Australia/Lord_Howe", ["2026-10-04T02:30:00+11:00"]),
        ("09:30", "Asia/Kolkata", []),
    ],
)
def test_a_year_of_daily_runs_is_once_per_local_day(at: str, tz: str, off_time: list[str]) -> None:
    """A year of daily runs, each due time fed back as ``after`` as the tick does: one run per local
    date, at ``at`` except on the gap day, where it runs when the clocks jump."""
    zone = ZoneInfo(tz)
    local_runs = []
    due = next_due_at(daily(at, tz), datetime(2026, 1, 1, tzinfo=zone) - timedelta(seconds=1))
    while due is not None and due.astimezone(zone).year == 2026:
        local_runs.append(due.astimezone(zone))
        due = next_due_at(daily(at, tz), due)
    assert len({run.date() for run in local_runs}) == len(local_runs) == 365
    assert [run.isoformat() for run in local_runs if run.strftime("%H:%M") != at] == off_time


def test_a_leap_year_of_monthly_day_31() -> None:
    schedule = monthly(31)
    due = next_due_at(schedule, utc("2027-12-31 12:00"))
    days = []
    while due is not None and due.year == 2028:
        days.append(due.day)
        due = next_due_at(schedule, due)
    assert days == [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_due_at(daily("09:00"), datetime(2026, 1, 1))
