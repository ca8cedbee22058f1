"""A run's journaled events counted again and compared with what history recorded (docs/adr/0019).

Pure, so the verdict is tested without a broker. ``RunReplay`` takes the run's events one at a time in
journal order and keeps only what the verdict needs (a line per event, one counted outcome per record,
the supersessions), so a run of hundreds of thousands of records is never held whole. The counting is
``contracts.counts``'s, the same functions the live handlers use: whatever differs is the events', not
two copies of the arithmetic drifting apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from recruit_sync.contracts.counts import (
    FILE_DUPLICATE,
    Counted,
    after_displacement,
    displace,
    revise_counts,
)
from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import (
    BatchImported,
    FetchCompleted,
    IgnoreReason,
    Outcome,
    RecordBatch,
    RunCompleted,
    RunCounts,
    RunState,
    RunSummary,
    Superseded,
    SyncDue,
)
from recruit_sync.contracts.resources import JournalEvent, Replay

# how many batch numbers a difference names before it says how many more there are
NAMED_BATCHES = 10


def records_in(event: Envelope) -> int | None:
    """How many records (fetched or deleted) the event speaks of; None for one about no records."""
    match event:
        case RecordBatch():
            return len(event.records) + len(event.deleted)
        case BatchImported():
            return len(event.outcomes)
        case FetchCompleted():
            return event.record_count + event.deleted_count
        case RunCompleted():
            return event.summary.total + event.summary.deleted
        case _:
            return None


def journal_event(event: Envelope) -> JournalEvent:
    return JournalEvent(type=event.ROUTING_KEY, at=event.occurred_at, records=records_in(event))


@dataclass
class RunReplay:
    """The run's events, added in journal order; ``verdict`` compares them with history's summary.

    A batch counts once, the first time its ``seq`` appears (history claims a batch once, whatever event
    carried it); supersessions are applied at the end, when every batch they may name has been seen,
    as history applies each once its batch is in."""

    run_id: str
    events: list[JournalEvent] = field(default_factory=list)
    _counts: RunCounts = field(default_factory=RunCounts)
    _outcomes: dict[tuple[int, int], Counted] = field(default_factory=dict)
    _superseded: list[Superseded] = field(default_factory=list)
    _batches: set[int] = field(default_factory=set)
    _fetch: FetchCompleted | None = None
    _started: bool = False

    def add(self, event: Envelope) -> None:
        self.events.append(journal_event(event))
        match event:
            case SyncDue():
                self._started = True
            case FetchCompleted() if self._fetch is None:
                self._fetch = event
            case BatchImported() if event.seq not in self._batches:
                self._count(event)

    def _count(self, batch: BatchImported) -> None:
        self._batches.add(batch.seq)
        self._counts = revise_counts(self._counts, added=batch.outcomes.counted())
        self._outcomes.update(((batch.seq, i), item) for i, item in enumerate(batch.outcomes.counted()))
        self._superseded.extend(batch.superseded)

    def journal_counts(self) -> RunCounts:
        """The counts of every batch found, with what they displace applied."""
        displaced = displace(dict(self._outcomes), self._superseded, lambda _: FILE_DUPLICATE)
        return after_displacement(self._counts, displaced)

    def verdict(self, recorded: RunSummary) -> Replay:
        counts = self.journal_counts()
        differences = [*self._gaps(recorded), *count_differences(counts, recorded)]
        return Replay(
            run_id=self.run_id,
            events=self.events,
            journal_summary=counts,
            matches_history=not differences,
            differences=differences,
        )

    def _gaps(self, recorded: RunSummary) -> list[str]:
        """What the journal lacks: the run's start, the fetch's end, batches the fetch announced."""
        gaps = [] if self._started else ["sync.due is not in the journal (the run's start has left it)"]
        if self._fetch is None:
            if recorded.state is RunState.SUCCEEDED:
                gaps.append("fetch.completed is not in the journal")
            return gaps
        announced, found = self._fetch.batch_count, len(self._batches)
        if found != announced:
            gaps.append(f"batches: fetch.completed announced {announced}, the journal has {found}")
        missing = sorted(set(range(announced)) - self._batches)
        if missing:
            gaps.append(f"batches missing from the journal: {name_batches(missing)}")
        return gaps


def count_differences(journal: RunCounts, recorded: RunCounts) -> list[str]:
    """``new: journal 12, history 11``, one line per count that differs (ignore reasons included)."""
    pairs = [
        *((name, getattr(journal, name), getattr(recorded, name)) for name in _COUNTS),
        *(
            (f"ignored {reason.value}", journal.ignored_by_reason[reason], recorded.ignored_by_reason[reason])
            for reason in IgnoreReason
        ),
    ]
    return [f"{name}: journal {mine}, history {theirs}" for name, mine, theirs in pairs if mine != theirs]


_COUNTS = ("total", *(outcome.value for outcome in Outcome))


def name_batches(seqs: Sequence[int]) -> str:
    """``3, 7`` or, for many, the first few and how many more."""
    named = ", ".join(map(str, seqs[:NAMED_BATCHES]))
    more = len(seqs) - NAMED_BATCHES
    return f"{named} and {more} more" if more > 0 else named
