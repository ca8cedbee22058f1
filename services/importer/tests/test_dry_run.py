"""The dry run's comparison (pure): outcomes matched by batch and position, deletions by record id, the
run's displacements applied on each side exactly as history applies them."""

from __future__ import annotations

from recruit_sync.contracts.events import (
    BatchImported,
    Displacement,
    IgnoreReason,
    Outcome,
    RecordOutcome,
    Superseded,
)
from recruit_sync.importer.dry_run import Difference, RunOutcomes, differences

NEW, IGNORED, DELETED = Outcome.NEW, Outcome.IGNORED, Outcome.DELETED


def _o(record_id: str, outcome: Outcome, reason: IgnoreReason | None = None) -> RecordOutcome:
    return RecordOutcome(record_id=record_id, email=f"{record_id}@x.co", outcome=outcome, reason=reason)


def _batch(
    seq: int, outcomes: list[RecordOutcome], superseded: list[Superseded] | None = None
) -> BatchImported:
    return BatchImported(
        correlation_id="r", run_id="r", sync_id="s", seq=seq, outcomes=outcomes, superseded=superseded or []
    )


def _outcomes(*batches: BatchImported) -> RunOutcomes:
    outcomes = RunOutcomes()
    for batch in batches:
        outcomes.add(batch)
    return outcomes


def test_the_same_batches_in_another_order_and_redelivered_make_no_difference() -> None:
    one = _batch(0, [_o("1", NEW), _o("2", IGNORED, IgnoreReason.ROLE_ADDRESS)])
    two = _batch(
        1, [_o("3", NEW)], [Superseded(seq=0, position=0, by=0, becomes=Displacement.FILE_DUPLICATE)]
    )
    recorded, replayed = _outcomes(one, two), _outcomes(two, one, two)
    assert list(differences(recorded, replayed)) == []
    assert recorded.counts() == replayed.counts()
    assert recorded.counts().ignored_by_reason[IgnoreReason.FILE_DUPLICATE] == 1  # displaced, counted so


def test_a_record_decided_otherwise_is_named_by_batch_and_position() -> None:
    recorded = _outcomes(_batch(0, [_o("1", NEW), _o("2", NEW)]))
    replayed = _outcomes(_batch(0, [_o("1", NEW), _o("2", IGNORED, IgnoreReason.ROLE_ADDRESS)]))
    assert list(differences(recorded, replayed)) == [
        Difference(0, 1, 1, (NEW, None), (IGNORED, IgnoreReason.ROLE_ADDRESS))
    ]
    assert replayed.counts().new == 1


def test_a_displacement_on_one_side_only_is_a_difference_of_the_displaced_record() -> None:
    first = _batch(0, [_o("1", NEW)])
    displacing = _batch(
        1, [_o("9", NEW)], [Superseded(seq=0, position=0, by=0, becomes=Displacement.FILE_DUPLICATE)]
    )
    not_displacing = _batch(1, [_o("9", IGNORED, IgnoreReason.FILE_DUPLICATE)])
    found = list(differences(_outcomes(first, displacing), _outcomes(first, not_displacing)))
    assert found == [
        Difference(0, 0, 0, (IGNORED, IgnoreReason.FILE_DUPLICATE), (NEW, None)),
        Difference(1, 0, 0, (NEW, None), (IGNORED, IgnoreReason.FILE_DUPLICATE)),
    ]


def test_deletions_are_matched_by_record_id_whatever_their_position() -> None:
    recorded = _outcomes(_batch(0, [_o("1", NEW), _o("d1", DELETED), _o("d2", DELETED)]))
    replayed = _outcomes(_batch(0, [_o("1", NEW), _o("d2", DELETED), _o("d3", DELETED)]))
    found = list(differences(recorded, replayed))
    assert [(d.record_id, d.recorded, d.replayed) for d in found] == [
        ("d1", (DELETED, None), None),
        ("d3", None, (DELETED, None)),
    ]
    assert found[0].email == "d1@x.co"


def test_a_void_deletion_counts_for_nothing_on_both_sides() -> None:
    deleted = _batch(0, [_o("d1", DELETED)])
    undone = _batch(1, [_o("1", NEW)], [Superseded(seq=0, position=0, by=0, becomes=Displacement.VOID)])
    recorded, replayed = _outcomes(deleted, undone), _outcomes(undone, deleted)
    assert list(differences(recorded, replayed)) == []
    assert (recorded.counts().deleted, recorded.counts().new) == (0, 1)


def test_a_batch_on_one_side_only_shows_each_of_its_records() -> None:
    recorded = _outcomes(_batch(0, [_o("1", NEW)]), _batch(1, [_o("2", NEW)]))
    replayed = _outcomes(_batch(0, [_o("1", NEW)]))
    assert list(differences(recorded, replayed)) == [Difference(1, 0, None, (NEW, None), None)]
