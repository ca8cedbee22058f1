"""Run counts from per-record outcomes: pure, so the SPEC section 6 invariant is tested without I/O.

``total`` (records fetched) = new + re_added + duplicate + updated + unchanged + ignored; ``deleted``
(records Recruit reported deleted) is counted apart and is not part of ``total``; ``ignored`` is broken
down by reason with every ``IgnoreReason`` present, zeros included.

A run's counts are running totals: each batch adds its outcomes, and the earlier outcomes it displaces
(``BatchImported.superseded``) are taken back and, for a file duplicate, counted again as what they
became. History decides none of that; it only keeps the totals in step with the outcomes it stores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from recruit_sync.contracts.events import Displacement, IgnoreReason, Outcome, RecordOutcome, RunCounts

# an outcome as the counts see it: what happened, and why it was ignored
Counted = tuple[Outcome, IgnoreReason | None]

FILE_DUPLICATE: Counted = (Outcome.IGNORED, IgnoreReason.FILE_DUPLICATE)


def counted(item: RecordOutcome) -> Counted:
    return item.outcome, item.reason


def all_reasons(by_reason: Mapping[str, int]) -> dict[IgnoreReason, int]:
    """Every ignore reason, zeros included (stored breakdowns may omit reasons never seen)."""
    return {reason: int(by_reason.get(reason.value, 0)) for reason in IgnoreReason}


def count_outcomes(outcomes: Iterable[RecordOutcome]) -> RunCounts:
    return revise_counts(RunCounts(), added=map(counted, outcomes))


def revise_counts(
    counts: RunCounts, *, added: Iterable[Counted] = (), removed: Iterable[Counted] = ()
) -> RunCounts:
    """``counts`` with some outcomes counted and others taken back.

    An ignored outcome without a reason counts as ``malformed`` (nothing could be read of it), so
    ``ignored`` always equals the sum of ``ignored_by_reason``."""
    by_outcome: Counter[Outcome] = Counter({outcome: getattr(counts, outcome.value) for outcome in Outcome})
    by_reason: Counter[IgnoreReason] = Counter(counts.ignored_by_reason)
    for sign, items in ((1, added), (-1, removed)):
        for outcome, reason in items:
            by_outcome[outcome] += sign
            if outcome is Outcome.IGNORED:
                by_reason[reason or IgnoreReason.MALFORMED] += sign
    return RunCounts(
        total=sum(n for outcome, n in by_outcome.items() if outcome is not Outcome.DELETED),
        **{outcome.value: by_outcome[outcome] for outcome in Outcome},
        ignored_by_reason={reason: by_reason[reason] for reason in IgnoreReason},
    )


def after_displacement(counts: RunCounts, displaced: Iterable[tuple[Counted, Displacement]]) -> RunCounts:
    """``counts`` once each displaced outcome (as it was counted, and what it becomes) is taken back: a
    file duplicate is counted as ignored ``file_duplicate`` instead, a void deletion not at all."""
    displaced = list(displaced)
    duplicates = [FILE_DUPLICATE for _, becomes in displaced if becomes is Displacement.FILE_DUPLICATE]
    return revise_counts(counts, added=duplicates, removed=[was for was, _ in displaced])


def is_whole(batch_count: int | None, batches_received: int) -> bool:
    """The fetch has said how many batches the run has, and every one of them is in."""
    return batch_count is not None and batches_received >= batch_count
