"""Run counts from outcomes (SPEC 6): total = new + re_added + duplicate + updated + unchanged + ignored."""

from __future__ import annotations

import random

from recruit_sync.contracts.events import IgnoreReason, Outcome, RecordOutcome, RunCounts
from recruit_sync.history.aggregate import add_counts, count_outcomes, ignore_reason_of, is_whole

FETCHED = (Outcome.NEW, Outcome.RE_ADDED, Outcome.DUPLICATE, Outcome.UPDATED, Outcome.UNCHANGED)


def _outcome(outcome: Outcome, reason: str | None = None) -> RecordOutcome:
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
        _outcome(Outcome.IGNORED, "opt_out"),
        _outcome(Outcome.IGNORED, "bounced"),
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


def test_malformed_reasons_name_the_problem_and_still_count_as_malformed() -> None:
    assert ignore_reason_of("malformed") is IgnoreReason.MALFORMED
    assert ignore_reason_of("malformed: Email is a number") is IgnoreReason.MALFORMED
    assert ignore_reason_of("record is not an object") is IgnoreReason.MALFORMED
    assert ignore_reason_of(None) is IgnoreReason.MALFORMED
    assert ignore_reason_of("invalid_pattern: gnail.com looks like gmail.com") is IgnoreReason.INVALID_PATTERN
    assert ignore_reason_of("file_duplicate") is IgnoreReason.FILE_DUPLICATE


def test_invariant_holds_for_random_batches_summed_in_any_grouping() -> None:
    rng = random.Random(7)
    reasons = [reason.value for reason in IgnoreReason] + ["some unreadable record"]
    everything: list[RecordOutcome] = []
    running = RunCounts()
    for _ in range(30):
        batch = []
        for _ in range(rng.randint(0, 60)):
            outcome = rng.choice(list(Outcome))
            batch.append(_outcome(outcome, rng.choice(reasons) if outcome is Outcome.IGNORED else None))
        everything += batch
        running = add_counts(running, count_outcomes(batch))
        _assert_invariants(running)
    assert running == count_outcomes(everything)
    assert running.total == sum(1 for o in everything if o.outcome is not Outcome.DELETED)
    assert running.deleted == sum(1 for o in everything if o.outcome is Outcome.DELETED)
    assert running.ignored_by_reason[IgnoreReason.MALFORMED] == sum(
        1 for o in everything if o.reason in ("malformed", "some unreadable record")
    )


def test_a_run_is_whole_only_once_the_fetch_has_counted_its_batches() -> None:
    assert not is_whole(None, 5)
    assert not is_whole(3, 2)
    assert is_whole(3, 3)
    assert is_whole(0, 0)
