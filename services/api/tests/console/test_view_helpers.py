"""Paging, the runs chart, wording and uploaded address files: the console's pure helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from recruit_sync.addresses.files import NoEmailColumn
from recruit_sync.api.console import charts, describe
from recruit_sync.api.console.address_file import addresses_in, addresses_in_file
from recruit_sync.api.console.paging import Page
from recruit_sync.contracts.events import RunState, RunSummary, Trigger
from recruit_sync.contracts.sync_spec import Schedule


def test_a_page_of_rows_at_hand_knows_its_neighbours() -> None:
    page, rows = Page.asked(2, size=3).of(list(range(8)))
    assert rows == [3, 4, 5]
    assert (page.has_previous, page.has_next, page.pages) == (True, True, 3)
    last, rows = Page.asked(3, size=3).of(list(range(8)))
    assert rows == [6, 7] and not last.has_next


def test_a_page_number_below_one_is_the_first() -> None:
    assert Page.asked(-4).number == 1 and Page.asked(0).offset == 0


def test_a_fetched_page_learns_of_a_next_one_from_the_extra_row() -> None:
    asked = Page.asked(1, size=2)
    page, rows = asked.fetched([1, 2, 3])
    assert rows == [1, 2] and page.has_next
    page, rows = asked.fetched([1, 2])
    assert rows == [1, 2] and not page.has_next


def _run(run_id: str, **counts: int) -> RunSummary:
    return RunSummary(
        run_id=run_id,
        sync_id="s",
        state=RunState.SUCCEEDED,
        trigger=Trigger.MANUAL,
        started_at=datetime(2026, 11, 2, 10, tzinfo=UTC),
        finished_at=None,
        **counts,
    )


def test_the_chart_stacks_each_runs_counts_scaled_to_the_largest_run_oldest_left() -> None:
    chart = charts.run_chart(
        [_run("newest", new=30, ignored=10), _run("oldest", unchanged=20), _run("empty")]
    )
    assert [bar.run_id for bar in chart.bars] == ["empty", "oldest", "newest"]
    assert chart.largest == 40
    empty, oldest, newest = chart.bars
    assert empty.segments == ()
    assert [(s.series, s.height) for s in newest.segments] == [("new", 120.0), ("ignored", 40.0)]
    assert newest.segments[0].y == 40.0 and newest.segments[1].y == 0.0  # stacked upwards
    assert oldest.segments[0].height == 80.0
    assert oldest.segments[0].x < newest.segments[0].x
    assert newest.label == "2026-11-02 10:00: new 30, ignored 10"


def test_the_chart_shows_only_the_newest_runs() -> None:
    chart = charts.run_chart([_run(str(n), new=1) for n in range(charts.MOST_RUNS + 5)])
    assert len(chart.bars) == charts.MOST_RUNS and chart.bars[-1].run_id == "0"


def test_no_run_is_an_empty_chart() -> None:
    assert charts.run_chart([]).bars == ()


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (Schedule(), "once"),
        (Schedule(kind="daily", at="06:00"), "daily at 06:00 (UTC)"),
        (Schedule(kind="weekly", weekday="monday", at="09:30", timezone="Asia/Kolkata"),
         "weekly on monday at 09:30 (Asia/Kolkata)"),
        (Schedule(kind="monthly", day=31, at="23:00"), "monthly on day 31 at 23:00 (UTC)"),
    ],
)  # fmt: skip
def test_a_schedule_reads_in_its_own_zone(schedule: Schedule, words: str) -> None:
    assert describe.schedule(schedule) == words


def test_a_moment_shows_its_offset() -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    assert describe.moment(datetime(2026, 11, 2, 9, 30, tzinfo=kolkata)) == "2026-11-02 09:30 +05:30"
    assert describe.moment(datetime(2026, 11, 2, 4, 0, tzinfo=UTC)) == "2026-11-02 04:00 UTC"
    assert describe.moment(None) == "—"


@pytest.mark.parametrize(
    ("target", "goes_to"),
    [
        ("/console/runs/r1?outcome=new", "/console/runs/r1?outcome=new"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("console/syncs", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_sign_in_sends_the_browser_only_to_a_path_on_this_site(target: str | None, goes_to: str) -> None:
    assert describe.local_path(target) == goes_to


def test_an_address_file_is_one_address_a_line_without_blanks_and_comments() -> None:
    assert addresses_in("a@example.com\n\n# bounced in March\n b@example.com \nnot an address\n") == [
        "a@example.com",
        "b@example.com",
        "not an address",  # the importer answers it as invalid
    ]


def test_a_csv_file_gives_its_email_column() -> None:
    text = 'Name,EMAIL,Note\n"Lee, Pat",pat@example.com,x\nNo Address,,y\nSam,sam@example.com\n'
    assert addresses_in(text) == ["pat@example.com", "sam@example.com"]


def test_a_csv_file_without_an_email_column_is_refused() -> None:
    with pytest.raises(NoEmailColumn, match="'email' column"):
        addresses_in("name,address\nPat,pat@example.com\n")


def test_an_uploaded_file_is_read_as_utf8_with_or_without_a_bom_and_within_its_size() -> None:
    assert addresses_in_file("\ufeffemail\nzoë@example.com\n".encode(), 100) == ["zoë@example.com"]
    with pytest.raises(ValueError, match="not UTF-8 text"):
        addresses_in_file("zoë@example.com".encode("latin-1"), 100)
    with pytest.raises(ValueError, match="larger than 1,024 bytes"):
        addresses_in_file(b"a@example.com\n" * 100, 1024)


def test_an_empty_file_has_no_address() -> None:
    assert addresses_in("\n# nothing\n") == []
