"""SPEC section 6: how a run's outcomes are counted, and what its displaced outcomes become. Pure.

History keeps the counts with these as batches arrive; replay (history) and dry runs and previews
(importer) count again with the same functions, so two copies of the arithmetic cannot drift apart.


``total`` (records fetched) = new + re_added + duplicate + updated + unchanged + ignored; ``deleted``
(records Recruit reported deleted) is counted apart and is not part of ``total``; ``ignored`` is broken
down by reason with every ``IgnoreReason`` present, zeros included.

A run's counts are running totals: each batch adds its outcomes, and the earlier outcomes it displaces
(``BatchImported.superseded``) are taken back and, for a file duplicate, counted again as what they
became. History decides none of that; it only keeps the totals in step with the outcomes it stores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import TypeVar

from recruit_sync.contracts.events import (
    Displacement,
    IgnoreReason,
    Outcome,
    RecordOutcome,
    RunCounts,
    Superseded,
)

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


T = TypeVar("T")
Position = tuple[int, int]  # (batch seq, index in the batch's outcomes)


def displace(
    outcomes: MutableMapping[Position, T],
    superseded: Sequence[Superseded],
    as_file_duplicate: Callable[[T], T],
) -> list[tuple[T, Displacement]]:
    """Apply ``superseded`` in order to ``outcomes`` (changed in place): a displaced outcome becomes
    ``as_file_duplicate`` of itself, a void one is dropped. Returns each displaced outcome as it was and
    what it became. One naming an outcome not found (its batch is missing, or it was voided already)
    changes nothing."""
    changed: list[tuple[T, Displacement]] = []
    for item in superseded:
        key = (item.seq, item.position)
        was = outcomes.get(key)
        if was is None:
            continue
        changed.append((was, item.becomes))
        if item.becomes is Displacement.FILE_DUPLICATE:
            outcomes[key] = as_file_duplicate(was)
        else:
            del outcomes[key]
    return changed


def as_file_duplicate(item: RecordOutcome) -> RecordOutcome:
    """A record's outcome once a more recent record of its email displaced it (SPEC 5, check 4)."""
    return item.model_copy(
        update={"outcome": Outcome.IGNORED, "reason": IgnoreReason.FILE_DUPLICATE, "problem": None}
    )
