"""The chart of a sync's runs: counts per run as stacked bars, laid out here and drawn as inline SVG
by the template (pure, so the geometry is tested without a browser)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recruit_sync.contracts.events import RunSummary

# the outcomes a run counts, bottom to top, with the class that colours them in console.css
SERIES = ("new", "re_added", "duplicate", "updated", "unchanged", "ignored", "deleted")
WIDTH, HEIGHT = 600, 160
MOST_RUNS = 30  # the newest runs shown; older ones are in the table


@dataclass(frozen=True)
class Segment:
    series: str
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Bar:
    run_id: str
    label: str  # what a hover shows: the run's start and its counts
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    largest: int  # the count the top of the chart stands for
    width: int = WIDTH
    height: int = HEIGHT


def run_chart(runs: Sequence[RunSummary]) -> Chart:
    """Bars for the newest ``MOST_RUNS`` of ``runs`` (given newest first), oldest on the left.

    Every bar is scaled against the largest run shown, so runs compare at a glance; a run that counted
    nothing gets no segments (its slot stays, so the runs keep their places).
    """
    shown = list(reversed(runs[:MOST_RUNS]))
    largest = max((_height(run) for run in shown), default=0)
    slot = WIDTH / max(len(shown), 1)
    bars = []
    for index, run in enumerate(shown):
        y = float(HEIGHT)
        segments = []
        for series in SERIES:
            count = int(getattr(run, series))
            if count == 0:
                continue
            height = HEIGHT * count / largest
            y -= height
            segments.append(Segment(series, count, index * slot + slot * 0.1, y, slot * 0.8, height))
        bars.append(Bar(run.run_id, _label(run), tuple(segments)))
    return Chart(tuple(bars), largest)


def _height(run: RunSummary) -> int:
    return sum(int(getattr(run, series)) for series in SERIES)


def _label(run: RunSummary) -> str:
    started = run.started_at.strftime("%Y-%m-%d %H:%M") if run.started_at else "not started"
    counts = ", ".join(f"{series} {getattr(run, series)}" for series in SERIES if getattr(run, series))
    return f"{started}: {counts or 'nothing counted'}"
