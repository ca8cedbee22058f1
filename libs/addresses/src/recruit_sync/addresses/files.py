"""The entries of a file of addresses that a user hands the CLI or the console (a suppression import).

One address per line, or a CSV file whose header has an ``email`` column (a spreadsheet export); blank
lines and ``#`` comments are left out. Which entries are really addresses is not decided here: the CLI
skips stray text with a message per line, the importer answers what it refuses as ``invalid``.
"""

from __future__ import annotations

import csv


class NoEmailColumn(ValueError):
    """A CSV file (more than one column) whose header has no ``email`` column."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: a CSV file needs an 'email' column in its header")
        self.line = line


def entries(text: str) -> list[tuple[int, str]]:
    """(line number, entry) of every line that stands for an address, in order; an entry may be blank
    (an empty CSV cell), so the caller can say which line it skipped."""
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    if not lines:
        return []
    header = [cell.strip().lower() for cell in next(csv.reader([lines[0][1]]))]
    if "email" in header:
        column = header.index("email")
        rows = csv.reader(line for _, line in lines[1:])
        return [
            (number, row[column].strip() if column < len(row) else "")
            for (number, _), row in zip(lines[1:], rows, strict=True)
        ]
    if len(header) > 1:
        raise NoEmailColumn(lines[0][0])
    return lines
