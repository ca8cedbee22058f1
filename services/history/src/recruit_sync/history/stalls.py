"""When a run has stalled, and what its error says (issue 10: runs never hang).

A run makes progress each time history applies one of its events. One that has made none for
``RECRUIT_SYNC_RUN_STALL_SECONDS`` (default 600) is failed by history's watch loop (``app.watch_stalls``),
so its sync may run again; the error names the stage that went silent, judged from what history has
of the run. History sees no ``RecordBatch`` (those go to the importer), so "the fetch" is known to have
started only from a ``BatchImported`` and to have ended only from ``FetchCompleted``.

Pure: the loop and the SQL are elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

STALL_VARIABLE = "RECRUIT_SYNC_RUN_STALL_SECONDS"
DEFAULT_STALL_SECONDS = 600.0


@dataclass(frozen=True)
class StallPolicy:
    """How long a run may go without progress, and how often the loop looks."""

    seconds: float = DEFAULT_STALL_SECONDS

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"{STALL_VARIABLE} must be a number of seconds above 0, not {self.seconds!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StallPolicy:
        text = (os.environ if env is None else env).get(STALL_VARIABLE, "").strip()
        if not text:
            return cls()
        try:
            seconds = float(text)
        except ValueError:
            raise ValueError(f"{STALL_VARIABLE} must be a number of seconds, not {text!r}") from None
        return cls(seconds)

    @property
    def check_every(self) -> float:
        """A few looks per stall period, so a run fails soon after its limit; at most every 30 s."""
        return min(30.0, max(0.2, self.seconds / 4))


def stall_error(seconds: float, batch_count: int | None, batches_received: int) -> str:
    """The run's error: which stage has been silent for ``seconds`` (the limit), with what is in.

    ``batch_count`` is None until ``FetchCompleted`` says how many batches the run has."""
    silent = f"{seconds:g} s"
    if batch_count is not None:
        return f"stalled: no batch imported for {silent} ({batches_received} of {batch_count} batches in)"
    if batches_received:
        return (
            f"stalled: waiting for the fetch to end (nothing for {silent}; "
            f"{batches_received} batches imported so far)"
        )
    return f"stalled: the fetch has not reported for {silent} (no batch imported, no end of fetch)"
