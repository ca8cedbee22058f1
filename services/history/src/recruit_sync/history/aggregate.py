"""Run counts from per-record outcomes: pure, so the SPEC section 6 invariant is tested without I/O.

``total`` (records fetched) = new + re_added + duplicate + updated + unchanged + ignored; ``deleted``
(records Recruit reported deleted) is counted apart and is not part of ``total``; ``ignored`` is broken
down by reason with every ``IgnoreReason`` present, zeros included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from recruit_sync.contracts.events import IgnoreReason, Outcome, RecordOutcome, RunCounts

_REASONS = {reason.value: reason for reason in IgnoreReason}


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
