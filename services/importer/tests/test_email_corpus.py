"""The labelled corpus: addresses from public validator and typo-suggestion test suites, each with its source.

tests/data/email_corpus.tsv gives per row the address, the outcome classify_email intends, the suite
it comes from, what that suite asserts, and, where we deliberately differ, why.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from recruit_sync.importer.email_rules import classify_email

CORPUS = Path(__file__).parent / "data" / "email_corpus.tsv"
LABELS = {"valid", "empty_email", "invalid_pattern", "role_address"}


@dataclass(frozen=True)
class Row:
    address: str
    expected: str
    source: str
    source_verdict: str
    note: str


def _rows() -> list[Row]:
    # split("\n"), not splitlines(): some addresses hold LINE SEPARATOR and other characters it splits at
    lines = [line for line in CORPUS.read_text("utf-8").split("\n") if line and not line.startswith("#")]
    header, *body = (line.split("\t") for line in lines)
    assert header == ["address", "expected", "source", "source_verdict", "note"]
    return [Row(json.loads(address), *rest) for address, *rest in body]


ROWS = _rows()


def _says_valid(verdict: str) -> bool:
    """Does the source accept the address as it stands (a valid address, or no typo to correct)?"""
    return verdict.startswith(("valid", "no typo"))


def test_corpus_is_large_labelled_and_sourced() -> None:
    assert len(ROWS) >= 300
    assert len({row.address for row in ROWS}) == len(ROWS)
    assert {row.expected for row in ROWS} == LABELS
    assert all(row.source and row.source_verdict for row in ROWS)
    suites = Counter(row.source.split(" ")[0] for row in ROWS)
    assert {
        "isemail",
        "python-email-validator",
        "validator.js",
        "mailcheck",
        "quitnow-email-suggester",
    } <= set(suites)


def test_every_deliberate_difference_from_the_source_is_explained() -> None:
    unexplained = [
        row for row in ROWS if (_says_valid(row.source_verdict) != (row.expected == "valid")) and not row.note
    ]
    assert unexplained == []


def test_classify_email_gives_the_intended_outcome_for_every_row() -> None:
    outcomes = {row.address: classify_email(row.address)[1] for row in ROWS}
    wrong = [
        (row.address, row.expected, outcome.value if outcome else "valid", row.source)
        for row in ROWS
        if (outcome := outcomes[row.address]) != (None if row.expected == "valid" else row.expected)
    ]
    assert wrong == []
