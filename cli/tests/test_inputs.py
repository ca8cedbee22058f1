"""Address files for ``suppress import``: plain lines or CSV with an email column."""

from __future__ import annotations

import pytest

from recruit_sync.cli.client import CliError
from recruit_sync.cli.inputs import parse_addresses


def test_plain_lines_skip_blanks_and_comments() -> None:
    parsed = parse_addresses("# bounced in October\na@x.com\n\n  b@x.com  \n# end\n", "f.txt")
    assert (parsed.emails, parsed.skipped) == (["a@x.com", "b@x.com"], [])


def test_csv_uses_the_email_column_whatever_its_case_and_position() -> None:
    parsed = parse_addresses('first,EMAIL,last\n"Smith, Ada",ada@x.com,S\nBob,,B\n', "f.csv")
    assert parsed.emails == ["ada@x.com"]
    assert parsed.skipped == ["f.csv: line 3: '' is not an email address, skipped"]


def test_a_single_email_header_is_csv_not_an_address() -> None:
    assert parse_addresses("email\na@x.com\n", "f.csv").emails == ["a@x.com"]


def test_csv_without_an_email_column_is_refused() -> None:
    with pytest.raises(CliError, match=r"f.csv: line 2: a CSV file needs an 'email' column"):
        parse_addresses("# header next\nname,address\nAda,ada@x.com\n", "f.csv")


def test_lines_that_are_not_addresses_are_reported_with_their_line() -> None:
    parsed = parse_addresses("a@x.com\nnot an address\n@x.com\n", "f.txt")
    assert parsed.emails == ["a@x.com"]
    assert [p.split(":")[1] for p in parsed.skipped] == [" line 2", " line 3"]


def test_an_empty_file_has_no_addresses() -> None:
    assert parse_addresses("\n# nothing\n", "f.txt").emails == []
