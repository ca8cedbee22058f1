"""Run counts from outcomes (SPEC 6): total = new + re_added + duplicate + updated + unchanged + ignored."""

from __future__ import annotations

import random

from recruit_sync.contracts.counts import (
    FILE_DUPLICATE,
    after_displacement,
    all_reasons,
    count_outcomes,
    counted,
    is_whole,
    revise_counts,
)
from recruit_sync.contracts.events import Displacement, IgnoreReason, Outcome, RecordOutcome, RunCounts


def _outcome(outcome: Outcome, reason: IgnoreReason | None = None) -> RecordOutcome:
    return RecordOutcome(record_id="1", email="a@example.com", outcome=outcome, reason=reason)


def _assert_invariants(counts: RunCounts) -> None:
    parts = counts.new + counts.re_added + counts.duplicate + counts.updated + counts.unchanged
    assert counts.total == parts + counts.ignored
    assert counts.ignored == sum(counts.ignored_by_reason.values())
    assert set(counts.ignored_by_reason) == set(IgnoreReason)


def test_counts_each_outcome_and_keeps_deleted_out_of_total() -> None:
    outcomes = [
        _outcome(Outcome.NEW),
        _outcome(Outcome.NEW),
        _outcome(Outcome.RE_ADDED),
        _outcome(Outcome.DUPLICATE),
        _outcome(Outcome.UPDATED),
        _outcome(Outcome.UNCHANGED),
        _outcome(Outcome.IGNORED, IgnoreReason.OPT_OUT),
        _outcome(Outcome.IGNORED, IgnoreReason.BOUNCED),
        _outcome(Outcome.DELETED),
        _outcome(Outcome.DELETED),
    ]
    counts = count_outcomes(outcomes)
    assert (counts.total, counts.new, counts.re_added, counts.duplicate) == (8, 2, 1, 1)
    assert (counts.updated, counts.unchanged, counts.ignored, counts.deleted) == (1, 1, 2, 2)
    assert counts.ignored_by_reason[IgnoreReason.OPT_OUT] == 1
    assert counts.ignored_by_reason[IgnoreReason.BOUNCED] == 1
    assert counts.ignored_by_reason[IgnoreReason.EMPTY_EMAIL] == 0
    _assert_invariants(counts)


def test_no_outcomes_gives_zeros_with_every_reason_present() -> None:
    counts = count_outcomes([])
    assert counts.total == 0 and counts.deleted == 0
    assert counts.ignored_by_reason == {reason: 0 for reason in IgnoreReason}


def test_a_malformed_record_counts_by_its_typed_reason_whatever_its_problem() -> None:
    malformed = RecordOutcome(
        record_id=None,
        email=None,
        outcome=Outcome.IGNORED,
        reason=IgnoreReason.MALFORMED,
        problem="opt_out: looks like a reason, is a problem",
    )
    unreasoned = _outcome(Outcome.IGNORED)  # nothing could be read of it, not even why
    counts = count_outcomes([malformed, unreasoned])
    assert counts.ignored_by_reason[IgnoreReason.MALFORMED] == 2
    assert counts.ignored_by_reason[IgnoreReason.OPT_OUT] == 0
    _assert_invariants(counts)


def test_stored_breakdowns_gain_the_reasons_they_omit() -> None:
    assert all_reasons({"opt_out": 2}) == {
        reason: 2 if reason is IgnoreReason.OPT_OUT else 0 for reason in IgnoreReason
    }


def test_invariant_holds_for_random_batches_summed_in_any_grouping() -> None:
    rng = random.Random(7)
    everything: list[RecordOutcome] = []
    running = RunCounts()
    for _ in range(30):
        batch = []
        for _ in range(rng.randint(0, 60)):
            outcome = rng.choice(list(Outcome))
            reason = rng.choice([*IgnoreReason, None]) if outcome is Outcome.IGNORED else None
            batch.append(_outcome(outcome, reason))
        everything += batch
        running = revise_counts(running, added=map(counted, batch))
        _assert_invariants(running)
    assert running == count_outcomes(everything)
    assert running.total == sum(1 for o in everything if o.outcome is not Outcome.DELETED)
    assert running.deleted == sum(1 for o in everything if o.outcome is Outcome.DELETED)
    assert running.ignored_by_reason[IgnoreReason.MALFORMED] == sum(
        1 for o in everything if o.outcome is Outcome.IGNORED and o.reason in (IgnoreReason.MALFORMED, None)
    )


def test_a_run_is_whole_only_once_the_fetch_has_counted_its_batches() -> None:
    assert not is_whole(None, 5)
    assert not is_whole(3, 2)
    assert is_whole(3, 3)
    assert is_whole(0, 0)


def test_revise_counts_moves_outcomes_and_keeps_the_invariants() -> None:
    counts = count_outcomes(
        [
            _outcome(Outcome.NEW),
            _outcome(Outcome.NEW),
            _outcome(Outcome.IGNORED, IgnoreReason.OPT_OUT),
            _outcome(Outcome.DELETED),
        ]
    )
    revised = revise_counts(
        counts,
        removed=[(Outcome.NEW, None), (Outcome.IGNORED, IgnoreReason.OPT_OUT), (Outcome.DELETED, None)],
        added=[FILE_DUPLICATE] * 2,
    )
    assert (revised.total, revised.new, revised.ignored, revised.deleted) == (3, 1, 2, 0)
    assert revised.ignored_by_reason[IgnoreReason.FILE_DUPLICATE] == 2
    assert revised.ignored_by_reason[IgnoreReason.OPT_OUT] == 0
    _assert_invariants(revised)


def test_a_displaced_outcome_becomes_a_file_duplicate_and_a_void_deletion_is_no_longer_counted() -> None:
    counts = count_outcomes(
        [
            _outcome(Outcome.UPDATED),
            _outcome(Outcome.IGNORED, IgnoreReason.CONVERTED),
            _outcome(Outcome.DELETED),
            _outcome(Outcome.NEW),
        ]
    )
    revised = after_displacement(
        counts,
        [
            ((Outcome.UPDATED, None), Displacement.FILE_DUPLICATE),
            ((Outcome.IGNORED, IgnoreReason.CONVERTED), Displacement.FILE_DUPLICATE),
            ((Outcome.DELETED, None), Displacement.VOID),
        ],
    )
    assert (revised.total, revised.new, revised.updated, revised.ignored, revised.deleted) == (3, 1, 0, 2, 0)
    assert revised.ignored_by_reason[IgnoreReason.FILE_DUPLICATE] == 2
    assert revised.ignored_by_reason[IgnoreReason.CONVERTED] == 0
    _assert_invariants(revised)
    assert after_displacement(counts, []) == counts
