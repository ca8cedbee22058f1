"""API call and credit metering, as `GET /_sim/stats` reports it."""

from __future__ import annotations

from collections import Counter
from typing import Any

LIST_CREDITS = 3
OTHER_CREDITS = 1


class Meter:
    """Every `/recruit/v2` request is a call. Credits: list and search calls cost 3, every other
    call 1; answers 401 (a refused token included), 429 and 5xx cost 0, injected or not. Token
    requests are neither calls nor credits (`tokens_issued` counts granted tokens)."""

    def __init__(self) -> None:
        self.calls = 0
        self.credits = 0
        self.by_path: Counter[str] = Counter()

    def call(self, path: str) -> None:
        self.calls += 1
        self.by_path[path] += 1

    def charge(self, credits: int) -> None:
        self.credits += credits

    def snapshot(self) -> dict[str, Any]:
        return {"calls": self.calls, "credits": self.credits, "by_path": dict(self.by_path)}
