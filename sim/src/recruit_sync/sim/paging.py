"""Token paging, as Zoho CRM does it past 2,000 records (unconfirmed for Recruit); off unless asked.

With `POST /_sim/paging {"page_token_after": N}`, a list call for a page that starts at record N or
later must carry `page_token` instead of `page` (with `page` it answers 400
`DISCRETE_PAGINATION_LIMIT_EXCEEDED`), and a page whose next page starts at N or later says so in
`info.next_page_token`. `{"page_token_after": null}` turns it off; so does `POST /_sim/reset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TOKEN_PREFIX: Final = "sim-pt-"


class PagingError(ValueError):
    """A page request the paging rules refuse: `code` is Recruit's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class TokenPaging:
    after: int | None = None  # records reachable by `page`; None: every page is

    def start(self, page: int, per_page: int, token: str | None) -> int:
        """The first record of the asked-for page (0-based)."""
        if token is not None:
            return _decode(token)
        start = (page - 1) * per_page
        if self.after is not None and start >= self.after:
            raise PagingError(
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                f"records past the first {self.after} can only be read with page_token",
            )
        return start

    def next_token(self, next_start: int) -> str | None:
        """`info.next_page_token` for a page followed by one starting at `next_start`."""
        if self.after is None or next_start < self.after:
            return None
        return f"{TOKEN_PREFIX}{next_start}"


def _decode(token: str) -> int:
    digits = token.removeprefix(TOKEN_PREFIX)
    if token == digits or not (digits.isascii() and digits.isdigit()):
        raise PagingError("INVALID_DATA", "page_token is invalid or expired")
    return int(digits)
