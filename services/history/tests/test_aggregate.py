"""Run counts from outcomes (SPEC 6): total = new + re_added + duplicate + updated + unchanged + ignored."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from recruit_sync.contracts.events import IgnoreReason, Outcome, RecordOutcome, RunCounts
from recruit_sync.history.aggregate import (
    Placed,
    add_counts,
    count_outcomes,
    ignore_reason_of,
    is_whole,
    revise_counts,
    settle_batch,
    settle_email,
)

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


# --- one outcome past check 4 per email and run (settle_email) -----------------------------------

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _placed(seq: int, outcome: Outcome, reason: str | None = None, minutes: int = 0) -> Placed:
    return Placed(seq, 0, outcome, reason, T0 + timedelta(minutes=minutes))


def test_the_outcome_applied_last_holds_the_email() -> None:
    first = _placed(0, Outcome.NEW, minutes=1)
    later = _placed(3, Outcome.NEW, minutes=2)
    refused_later = _placed(5, Outcome.IGNORED, "opt_out", minutes=3)
    assert settle_email([later, first]) == ([first], [])
    assert settle_email([first, refused_later, later]) == ([first, later], [])


def test_a_deletion_of_an_email_the_run_places_did_not_happen() -> None:
    deleted = _placed(9, Outcome.DELETED, minutes=5)
    placed = _placed(0, Outcome.UNCHANGED, minutes=1)
    assert settle_email([deleted, placed]) == ([], [deleted])
    assert settle_email([deleted]) == ([], [])


def test_a_tie_in_time_goes_to_the_later_batch() -> None:
    a, b = _placed(1, Outcome.NEW), _placed(2, Outcome.DUPLICATE)
    assert settle_email([b, a]) == ([a], [])


def test_revise_counts_moves_outcomes_and_keeps_the_invariants() -> None:
    counts = count_outcomes(
        [
            _outcome(Outcome.NEW),
            _outcome(Outcome.NEW),
            _outcome(Outcome.IGNORED, "opt_out"),
            _outcome(Outcome.DELETED),
        ]
    )
    revised = revise_counts(
        counts,
        removed=[(Outcome.NEW, None), (Outcome.IGNORED, "opt_out"), (Outcome.DELETED, None)],
        added=[(Outcome.IGNORED, "file_duplicate")] * 2,
    )
    assert (revised.total, revised.new, revised.ignored, revised.deleted) == (3, 1, 2, 0)
    assert revised.ignored_by_reason[IgnoreReason.FILE_DUPLICATE] == 2
    assert revised.ignored_by_reason[IgnoreReason.OPT_OUT] == 0
    _assert_invariants(revised)


def test_settle_batch_relabels_this_batch_or_the_earlier_ones() -> None:
    def o(record_id: str, outcome: Outcome, reason: str | None = None) -> RecordOutcome:
        return RecordOutcome(record_id=record_id, email=f"{record_id}@x.com", outcome=outcome, reason=reason)

    outcomes = [
        o("a", Outcome.NEW),  # an earlier batch, applied later, placed a@ too: this one lost
        o("b", Outcome.UPDATED),  # an earlier batch, applied before, placed b@: that one lost
        o("c", Outcome.IGNORED, "file_duplicate"),  # no claim of its own: nothing to settle
        o("d", Outcome.DELETED),  # a live record of d@ elsewhere in the run: this deletion did not happen
        o("e", Outcome.NEW),  # nobody else
    ]
    earlier = {
        "a@x.com": [_placed(3, Outcome.NEW, minutes=9)],
        "b@x.com": [_placed(1, Outcome.NEW, minutes=1)],
        "c@x.com": [_placed(2, Outcome.NEW, minutes=1)],
        "d@x.com": [_placed(4, Outcome.UNCHANGED, minutes=1)],
    }
    settled = settle_batch(7, T0 + timedelta(minutes=5), outcomes, [f"{x}@x.com" for x in "abcde"], earlier)
    assert [(position, item.record_id, item.outcome, item.reason) for position, item in settled.outcomes] == [
        (0, "a", Outcome.IGNORED, "file_duplicate"),
        (1, "b", Outcome.UPDATED, None),
        (2, "c", Outcome.IGNORED, "file_duplicate"),
        (4, "e", Outcome.NEW, None),
    ]
    assert settled.earlier_losers == earlier["b@x.com"] and settled.earlier_voided == []
    assert settled.changed == 3
