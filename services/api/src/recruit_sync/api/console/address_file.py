"""The addresses in an uploaded suppression file (pure): a CSV with an ``email`` column, or one address
per line. Which entries are really addresses is the importer's call (it answers them as ``invalid``)."""

from __future__ import annotations

import csv


class NoEmailColumn(ValueError):
    """A CSV file (more than one column) without an ``email`` column in its header."""


def addresses_in(text: str) -> list[str]:
    """Every entry of the file, blank lines and ``#`` comments left out."""
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        return []
    header = [cell.strip().lower() for cell in next(csv.reader([lines[0]]))]
    if "email" in header:
        column = header.index("email")
        return [
            row[column].strip() for row in csv.reader(lines[1:]) if column < len(row) and row[column].strip()
        ]
    if len(header) > 1:
        raise NoEmailColumn("a CSV file needs an 'email' column in its header")
    return lines
