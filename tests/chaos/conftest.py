"""The chaos suite's report: one line per scenario, printed at the end of the session (``make chaos``)."""

from __future__ import annotations

from typing import Any

import pytest

LINES: list[str] = []


@pytest.fixture
def report() -> Any:
    return LINES.append


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LINES:
        terminalreporter.section("chaos scenarios")
        for line in LINES:
            terminalreporter.write_line(line)
