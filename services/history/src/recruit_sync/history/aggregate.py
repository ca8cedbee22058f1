"""Run counts from per-record outcomes: pure, so the SPEC section 6 invariant is tested without I/O.

``total`` (records fetched) = new + re_added + duplicate + updated + unchanged + ignored; ``deleted``
(records Recruit reported deleted) is counted apart and is not part of ``total``; ``ignored`` is broken
down by reason with every ``IgnoreReason`` present, zeros included.

``settle_email`` keeps SPEC section 5's rule that an email has one outcome past check 4 per run, whatever
order the batches came in (docs/adr/0007): the importer only applies a second such outcome for an email
when its record is more recent than the first, so the one applied last holds the email and the others
are file duplicates; and a run that places an email does not also delete it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from recruit_sync.contracts.events import IgnoreReason, Outcome, RecordOutcome, RunCounts

_REASONS = {reason.value: reason for reason in IgnoreReason}
# ignore reasons given after check 4: the record held its email in the run, then was refused
FILE_DUPLICATE = IgnoreReason.FILE_DUPLICATE.value
CLAIMING_REASONS = (
    IgnoreReason.OPT_OUT,
    IgnoreReason.CONVERTED,
    IgnoreReason.DO_NOT_MAIL,
    IgnoreReason.BOUNCED,
)


def ignore_reason_of(reason: str | None) -> IgnoreReason:
    """The ignore reason a recorded ``reason`` text stands for.

    An ignored record's reason is an ``IgnoreReason`` value, except for ``malformed`` records whose
    reason names the problem (INTERFACE.md "runs records"); so ``"opt_out"`` and ``"opt_out: ..."`` are
    ``opt_out``, and any other text (or none) is a problem description: ``malformed``.
    """
    if reason is None:
        return IgnoreReason.MALFORMED
    head = reason.split(":", 1)[0].strip()
    return _REASONS.get(head, IgnoreReason.MALFORMED)


def all_reasons(by_reason: Mapping[str, int]) -> dict[IgnoreReason, int]:
    """Every ignore reason, zeros included (stored breakdowns may omit reasons never seen)."""
    return {reason: int(by_reason.get(reason.value, 0)) for reason in IgnoreReason}


def count_outcomes(outcomes: Iterable[RecordOutcome]) -> RunCounts:
    by_outcome: Counter[Outcome] = Counter()
    by_reason: Counter[IgnoreReason] = Counter()
    for item in outcomes:
        by_outcome[item.outcome] += 1
        if item.outcome is Outcome.IGNORED:
            by_reason[ignore_reason_of(item.reason)] += 1
    return _counts(by_outcome, by_reason)


def add_counts(a: RunCounts, b: RunCounts) -> RunCounts:
    by_outcome: Counter[Outcome] = Counter()
    for counts in (a, b):
        for outcome in Outcome:
            by_outcome[outcome] += getattr(counts, outcome.value)
    by_reason = Counter(a.ignored_by_reason)
    by_reason.update(b.ignored_by_reason)
    return _counts(by_outcome, by_reason)


def _counts(by_outcome: Mapping[Outcome, int], by_reason: Mapping[IgnoreReason, int]) -> RunCounts:
    fetched = sum(n for outcome, n in by_outcome.items() if outcome is not Outcome.DELETED)
    return RunCounts(
        total=fetched,
        **{outcome.value: by_outcome.get(outcome, 0) for outcome in Outcome},
        ignored_by_reason={reason: by_reason.get(reason, 0) for reason in IgnoreReason},
    )


def is_whole(batch_count: int | None, batches_received: int) -> bool:
    """The fetch has said how many batches the run has, and every one of them is in."""
    return batch_count is not None and batches_received >= batch_count


def revise_counts(
    counts: RunCounts,
    removed: Iterable[tuple[Outcome, str | None]],
    added: Iterable[tuple[Outcome, str | None]],
) -> RunCounts:
    """``counts`` with some recorded outcomes taken back and others counted instead."""
    by_outcome: Counter[Outcome] = Counter({o: getattr(counts, o.value) for o in Outcome})
    by_reason: Counter[IgnoreReason] = Counter(counts.ignored_by_reason)
    for sign, items in ((-1, removed), (1, added)):
        for outcome, reason in items:
            by_outcome[outcome] += sign
            if outcome is Outcome.IGNORED:
                by_reason[ignore_reason_of(reason)] += sign
    return _counts(by_outcome, by_reason)


def holds_email(outcome: Outcome, reason: str | None) -> bool:
    """The record held its email in the run: it got past check 4, or its deletion was acted on."""
    return outcome is not Outcome.IGNORED or ignore_reason_of(reason) in CLAIMING_REASONS


@dataclass(frozen=True, slots=True)
class Placed:
    """A recorded outcome that holds its email in the run (``holds_email``)."""

    seq: int
    position: int
    outcome: Outcome
    reason: str | None
    applied_at: datetime  # when the importer applied its batch

    @property
    def where(self) -> tuple[int, int]:
        return self.seq, self.position


def settle_email(rows: Sequence[Placed]) -> tuple[list[Placed], list[Placed]]:
    """(outcomes that become ignored ``file_duplicate``, deletions that did not happen) for one email.

    Batches of one list are applied one at a time, so ``applied_at`` orders them (``seq`` breaks a tie
    that a clock could in theory make).
    """
    kept = [row for row in rows if row.outcome is not Outcome.DELETED]
    if not kept:
        return [], []
    holder = max(kept, key=lambda row: (row.applied_at, row.seq))
    losers = [row for row in kept if row is not holder]
    voided = [row for row in rows if row.outcome is Outcome.DELETED]
    return losers, voided


@dataclass
class Settlement:
    """A batch's outcomes as stored, (position, outcome), and what changes in the run's other batches."""

    outcomes: list[tuple[int, RecordOutcome]] = field(default_factory=list)
    earlier_losers: list[Placed] = field(default_factory=list)
    earlier_voided: list[Placed] = field(default_factory=list)
    changed_here: int = 0  # this batch's outcomes made file duplicates, or dropped deletions

    @property
    def changed(self) -> int:
        return self.changed_here + len(self.earlier_losers) + len(self.earlier_voided)


def settle_batch(
    seq: int,
    applied_at: datetime,
    outcomes: Sequence[RecordOutcome],
    keys: Sequence[str | None],
    earlier: Mapping[str, Sequence[Placed]],
) -> Settlement:
    """Settle batch ``seq`` against the outcomes of the run's other batches that hold the same emails
    (``earlier``: email key -> those outcomes; ``keys``: each outcome's email key)."""
    mine: dict[str, list[Placed]] = {}
    for position, (item, key) in enumerate(zip(outcomes, keys, strict=True)):
        if key is not None and key in earlier and holds_email(item.outcome, item.reason):
            row = Placed(seq, position, item.outcome, item.reason, applied_at)
            mine.setdefault(key, []).append(row)
    lost_here: set[int] = set()
    void_here: set[int] = set()
    settlement = Settlement()
    for key, rows in mine.items():
        losers, voided = settle_email([*earlier[key], *rows])
        for row in losers:
            if row.seq == seq:
                lost_here.add(row.position)
            else:
                settlement.earlier_losers.append(row)
        for row in voided:
            if row.seq == seq:
                void_here.add(row.position)
            else:
                settlement.earlier_voided.append(row)
    for position, item in enumerate(outcomes):
        if position in void_here:
            continue
        if position in lost_here:
            item = item.model_copy(update={"outcome": Outcome.IGNORED, "reason": FILE_DUPLICATE})
        settlement.outcomes.append((position, item))
    settlement.changed_here = len(lost_here) + len(void_here)
    return settlement
