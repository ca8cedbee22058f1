"""A run's outcomes as two sets of BatchImported events give them, and where two such sets differ. Pure.

A dry run (docs/adr/0020) holds the run's recorded batches (from the journal) and its replayed ones
(decided again in a scratch store); a preview holds its batches. ``RunOutcomes`` keeps what the verdict
needs and no more: per batch, each record's counted outcome by position (the same interned tuples over
and over, so a 200,000-record run costs a few megabytes), and the deletions acted on by record id. The
run's displacements are applied at the end with ``contracts.counts.displace``, exactly as history applies
them, so "recorded" here is what history counted.

Records are matched by batch and position (a batch's records are the same on both sides, in the same
order); deletions by batch and record id (which deletions a batch acts on may differ, and their
positions with them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field

from recruit_sync.contracts.counts import FILE_DUPLICATE, Counted, Position, displace, revise_counts
from recruit_sync.contracts.events import BatchImported, Outcome, Outcomes, RunCounts, Superseded

_INTERNED: dict[Counted, Counted] = {}


def _intern(item: Counted) -> Counted:
    return _INTERNED.setdefault(item, item)


@dataclass(frozen=True)
class Deletion:
    position: int
    email: str | None


@dataclass
class RunOutcomes:
    """A run's outcomes, batch by batch; a batch counts once (the first time its seq comes)."""

    records: dict[int, list[Counted | None]] = field(default_factory=dict)  # seq -> by position
    deletions: dict[int, dict[str, Deletion]] = field(default_factory=dict)  # seq -> record id -> where
    superseded: list[Superseded] = field(default_factory=list)
    _final: bool = False

    def add(self, batch: BatchImported) -> bool:
        """False for a batch already added (a redelivery published it again)."""
        return self.add_outcomes(batch.seq, batch.outcomes, batch.superseded)

    def add_outcomes(self, seq: int, items: Outcomes, superseded: Sequence[Superseded]) -> bool:
        assert not self._final, "outcomes are final once displacements are applied"
        if seq in self.records:
            return False
        outcomes: list[Counted | None] = [_intern(item) for item in items.counted()]
        deletions: dict[str, Deletion] = {}
        for position, (outcome, record_id) in enumerate(zip(items.outcome, items.record_id, strict=True)):
            if outcome is Outcome.DELETED and record_id is not None:
                deletions[record_id] = Deletion(position, items.email[position])
        self.records[seq] = outcomes
        if deletions:
            self.deletions[seq] = deletions
        self.superseded.extend(superseded)
        return True

    def finish(self) -> RunOutcomes:
        """Apply the run's displacements (once): what history ends up with."""
        if not self._final:
            displace(_Positions(self.records), self.superseded, lambda _: FILE_DUPLICATE)
            self._final = True
        return self

    def counts(self) -> RunCounts:
        return revise_counts(RunCounts(), added=(item for _, _, item in self.items()))

    def items(self) -> Iterator[tuple[int, int, Counted]]:
        """(seq, position, outcome) of every outcome standing, in batch order."""
        for seq in sorted(self.records):
            for position, item in enumerate(self.records[seq]):
                if item is not None:
                    yield seq, position, item

    def at(self, seq: int, position: int) -> Counted | None:
        outcomes = self.records.get(seq, [])
        return outcomes[position] if position < len(outcomes) else None

    def deletion_positions(self, seq: int) -> set[int]:
        return {d.position for d in self.deletions.get(seq, {}).values()}


class _Positions(MutableMapping[Position, Counted]):
    """The per-batch lists seen as one mapping (seq, position) -> outcome, for ``displace``; a void
    outcome becomes None in its list, so positions never shift."""

    def __init__(self, records: dict[int, list[Counted | None]]) -> None:
        self.records = records

    def __getitem__(self, key: Position) -> Counted:
        seq, position = key
        outcomes = self.records.get(seq)
        item = outcomes[position] if outcomes is not None and position < len(outcomes) else None
        if item is None:
            raise KeyError(key)
        return item

    def __setitem__(self, key: Position, value: Counted) -> None:
        self.records[key[0]][key[1]] = value

    def __delitem__(self, key: Position) -> None:
        self[key]  # a KeyError when absent, as a mapping does
        self.records[key[0]][key[1]] = None

    def __iter__(self) -> Iterator[Position]:
        for seq, outcomes in self.records.items():
            yield from ((seq, position) for position in range(len(outcomes)))

    def __len__(self) -> int:
        return sum(len(outcomes) for outcomes in self.records.values())


@dataclass(frozen=True)
class Difference:
    """A record decided otherwise: where (batch, and its position on each side: None where that side
    has no outcome for it), and both outcomes."""

    seq: int
    recorded_at: int | None
    replayed_at: int | None
    recorded: Counted | None
    replayed: Counted | None
    record_id: str | None = None  # known here for deletions; records are named from their batch
    email: str | None = None


def differences(recorded: RunOutcomes, replayed: RunOutcomes) -> Iterator[Difference]:
    """Every record whose outcome differs between two finished ``RunOutcomes``, in batch order."""
    recorded.finish()
    replayed.finish()
    for seq in sorted(recorded.records.keys() | replayed.records.keys()):
        yield from _record_differences(seq, recorded, replayed)
        yield from _deletion_differences(seq, recorded, replayed)


def _record_differences(seq: int, recorded: RunOutcomes, replayed: RunOutcomes) -> Iterable[Difference]:
    skip = recorded.deletion_positions(seq) | replayed.deletion_positions(seq)
    length = max(len(recorded.records.get(seq, [])), len(replayed.records.get(seq, [])))
    for position in range(length):
        if position in skip:
            continue
        mine, theirs = recorded.at(seq, position), replayed.at(seq, position)
        if mine != theirs:
            yield Difference(
                seq,
                position if mine is not None else None,
                position if theirs is not None else None,
                mine,
                theirs,
            )


def _deletion_differences(seq: int, recorded: RunOutcomes, replayed: RunOutcomes) -> Iterable[Difference]:
    mine, theirs = recorded.deletions.get(seq, {}), replayed.deletions.get(seq, {})
    for record_id in sorted(mine.keys() | theirs.keys()):
        before, after = mine.get(record_id), theirs.get(record_id)
        was = recorded.at(seq, before.position) if before is not None else None
        now = replayed.at(seq, after.position) if after is not None else None
        if was != now:
            named = after or before
            yield Difference(
                seq,
                before.position if before is not None else None,
                after.position if after is not None else None,
                was,
                now,
                record_id=record_id,
                email=named.email if named is not None else None,
            )
