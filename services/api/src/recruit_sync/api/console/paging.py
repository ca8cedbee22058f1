"""Long lists shown a page at a time (pure): which slice a page number asks for, and its links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """Page ``number`` (from 1) of ``size`` rows; ``has_next`` once the rows after it are known to exist."""

    number: int
    size: int = PAGE_SIZE
    has_next: bool = False
    total: int | None = None  # rows in all pages, when known

    @classmethod
    def asked(cls, number: int, size: int = PAGE_SIZE) -> Page:
        """The page a ``?page=`` asks for; anything below 1 is the first."""
        return cls(max(number, 1), size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.size))

    def of(self, rows: Sequence[T]) -> tuple[Page, list[T]]:
        """This page of ``rows`` (every row at hand), and the page knowing the total."""
        total = len(rows)
        shown = list(rows[self.offset : self.offset + self.size])
        return Page(self.number, self.size, self.offset + self.size < total, total), shown

    def fetched(self, rows: Sequence[T]) -> tuple[Page, list[T]]:
        """This page from ``size + 1`` rows fetched at ``offset``: the extra one only says there is more."""
        return Page(self.number, self.size, len(rows) > self.size, self.total), list(rows[: self.size])
