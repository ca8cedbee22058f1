"""A fake recruit-sync API for CLI tests: canned answers per (method, path), requests recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from recruit_sync.cli.main import CliState

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class FakeApi:
    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Answer) -> FakeApi:
        """Answer ``method path`` with each answer in turn; the last one repeats."""
        self.answers[(method, path)] = list(answers)
        return self

    def state(self) -> CliState:
        return CliState(
            api_url="http://api.test", transport=httpx.MockTransport(self._handle), poll_seconds=0
        )

    def bodies(self, method: str, path: str) -> list[Any]:
        return [
            json.loads(r.content)
            for r in self.requests
            if (r.method, r.url.path) == (method, path) and r.content
        ]

    def calls(self, method: str, path: str) -> int:
        return sum((r.method, r.url.path) == (method, path) for r in self.requests)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.answers.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(
                404, json={"detail": f"fake API: no answer for {request.method} {request.url.path}"}
            )
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer


def ok(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def refused(status: int, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail})
