"""Every domain metric of recruit-sync, in one place (Prometheus, the process's default registry).

Each process serves the registry on its ops port (``runtime.ops``), together with FastStream's own
message metrics (``faststream_*``, ``runtime.broker.make_broker`` adds the middleware). A metric is
touched only by the service named in its comment. Labels name a sync or a connection at most, never a
record: their number stays that of the syncs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

PREFIX = "recruit_sync"

# importer: one count per record outcome of each BatchImported it publishes first (not on a redelivery's
# republish); ``reason`` is the ignore reason ("" for outcomes that are not ``ignored``)
RECORDS = Counter(
    f"{PREFIX}_records",
    "Records imported, by sync, outcome and ignore reason",
    ["sync_id", "outcome", "reason"],
    registry=REGISTRY,
)

# importer: per batch that read its facts ahead of its turn, whether they still held (docs/adr/0025)
READ_AHEAD = Counter(
    f"{PREFIX}_importer_read_ahead",
    "Batches whose facts were read ahead of their list's turn, by whether they still held then",
    ["verdict"],
    registry=REGISTRY,
)

# history: when a run completes
RUNS = Counter(
    f"{PREFIX}_runs", "Runs completed, by sync and final state", ["sync_id", "state"], registry=REGISTRY
)
RUN_DURATION = Histogram(
    f"{PREFIX}_run_duration_seconds",
    "Duration of completed runs (start to completion), by sync",
    ["sync_id"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, float("inf")),
    registry=REGISTRY,
)

# fetcher: per Recruit connection (its name)
RECRUIT_CALLS = Counter(
    f"{PREFIX}_recruit_calls", "Recruit API calls made, by connection", ["connection"], registry=REGISTRY
)
RECRUIT_CREDITS = Counter(
    f"{PREFIX}_recruit_credits", "Recruit API credits spent, by connection", ["connection"], registry=REGISTRY
)

# scheduler
OLDEST_DUE_AGE = Gauge(
    f"{PREFIX}_oldest_due_sync_age_seconds",
    "How long the oldest sync that is due but not started has been due (0: none)",
    registry=REGISTRY,
)
QUEUE_MESSAGES = Gauge(
    f"{PREFIX}_queue_messages", "Messages ready in each work queue", ["queue"], registry=REGISTRY
)
DLQ_MESSAGES = Gauge(
    f"{PREFIX}_dlq_messages", "Messages in each dead-letter queue", ["queue"], registry=REGISTRY
)


def count_outcomes(sync_id: str, counted: Iterable[tuple[object, object]]) -> None:
    """Add one batch's outcomes, (outcome, reason) each (``Outcomes.counted``), to ``RECORDS``: one
    increment per outcome and reason, not per record."""
    counts: dict[tuple[object, object], int] = {}
    for key in counted:  # (the labels' text made once per pair, not once per record)
        counts[key] = counts.get(key, 0) + 1
    for (outcome, reason), n in counts.items():
        reason_label = "" if reason is None else str(reason)
        RECORDS.labels(sync_id=sync_id, outcome=str(outcome), reason=reason_label).inc(n)


class _Summary(Protocol):
    @property
    def sync_id(self) -> str: ...

    @property
    def state(self) -> object: ...

    @property
    def started_at(self) -> datetime | None: ...

    @property
    def finished_at(self) -> datetime | None: ...


def count_run(summary: _Summary) -> None:
    """A run completed (its ``RunCompleted`` committed): ``RUNS`` by state, and its duration."""
    RUNS.labels(sync_id=summary.sync_id, state=str(summary.state)).inc()
    if summary.started_at is not None and summary.finished_at is not None:
        seconds = (summary.finished_at - summary.started_at).total_seconds()
        RUN_DURATION.labels(sync_id=summary.sync_id).observe(max(seconds, 0.0))


# every metric name this module defines, as exposed (counters gain ``_total``), for the dashboard test
METRIC_NAMES = (
    f"{PREFIX}_records_total",
    f"{PREFIX}_runs_total",
    f"{PREFIX}_run_duration_seconds_bucket",
    f"{PREFIX}_run_duration_seconds_sum",
    f"{PREFIX}_run_duration_seconds_count",
    f"{PREFIX}_recruit_calls_total",
    f"{PREFIX}_recruit_credits_total",
    f"{PREFIX}_oldest_due_sync_age_seconds",
    f"{PREFIX}_queue_messages",
    f"{PREFIX}_dlq_messages",
)
