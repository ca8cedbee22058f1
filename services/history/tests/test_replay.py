"""The journal's outcomes counted again and compared with history's summary (pure: no broker)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from recruit_sync.contracts.counts import count_outcomes
from recruit_sync.contracts.events import (
    BatchImported,
    BatchImportedV1,
    Displacement,
    IgnoreReason,
    Outcome,
    RecordBatch,
    RunCompleted,
    RunCounts,
    RunState,
    RunSummary,
)
from recruit_sync.history.replay import RunReplay, count_differences, name_batches
from recruit_sync.runtime.journal import Retention

FD, VOID = Displacement.FILE_DUPLICATE, Displacement.VOID


def _summary(run: Any, counts: RunCounts, state: RunState = RunState.SUCCEEDED) -> RunSummary:
    return RunSummary(
        run_id=run.run_id,
        sync_id=run.sync_id,
        state=state,
        trigger=None,
        started_at=run.started_at,
        finished_at=None,
        **counts.model_dump(),
    )


def _replayed(run: Any, *batches: BatchImported, batch_count: int | None = None) -> RunReplay:
    replay = RunReplay(run.run_id)
    replay.add(run.sync_due())
    for batch in batches:
        replay.add(batch)
    replay.add(run.fetch_completed(len(batches) if batch_count is None else batch_count))
    return replay


def test_supersessions_across_batches_are_applied_whatever_order_the_batches_come_in(run: Any) -> None:
    r = run.record
    first = run.batch(0, [r("1", "a@x.co"), r("2", "b@x.co", Outcome.DELETED)])
    # batch 1 displaces batch 0's a@x.co (a more recent record of it) and voids its deletion of b@x.co
    second = run.batch(
        1, [r("3", "a@x.co"), r("2", "b@x.co")], [run.displaces(0, 0, 0, FD), run.displaces(0, 1, 1, VOID)]
    )
    for order in ((first, second), (second, first)):
        counts = _replayed(run, *order).journal_counts()
        assert (counts.total, counts.new, counts.ignored, counts.deleted) == (3, 2, 1, 0)
        assert counts.ignored_by_reason[IgnoreReason.FILE_DUPLICATE] == 1


def test_a_run_whose_journal_adds_up_matches_and_lists_every_event_in_order(run: Any) -> None:
    r = run.record
    batch = run.batch(0, [r("1", "a@x.co"), r("2", None, Outcome.IGNORED, IgnoreReason.EMPTY_EMAIL)])
    replay = _replayed(run, batch)
    recorded = _summary(run, count_outcomes(batch.outcomes))
    replay.add(RunCompleted(correlation_id=run.run_id, summary=recorded))
    answer = replay.verdict(recorded)
    assert answer.matches_history and answer.differences == []
    assert [(e.type, e.records) for e in answer.events] == [
        ("sync.due", None),
        ("batch.imported", 2),
        ("fetch.completed", 0),
        ("run.completed", 2),
    ]
    assert answer.events[1].at == batch.occurred_at


def test_a_record_batch_counts_its_records_and_deletions(run: Any) -> None:
    replay = RunReplay(run.run_id)
    due = run.sync_due()
    replay.add(
        RecordBatch(
            run_id=run.run_id,
            sync_id=run.sync_id,
            seq=0,
            module="Candidates",
            settings=due.settings,
            records=[{"id": "1"}, {"id": "2"}],
            deleted=[{"id": "9"}],
        )
    )
    assert replay.events[0].records == 3


def test_each_count_that_differs_is_named_with_both_sides(run: Any) -> None:
    r = run.record
    batch = run.batch(0, [r("1", "a@x.co"), r("2", "b@x.co", Outcome.IGNORED, IgnoreReason.DO_NOT_MAIL)])
    recorded = count_outcomes([r("1", "a@x.co"), r("2", "b@x.co")])
    answer = _replayed(run, batch).verdict(_summary(run, recorded))
    assert not answer.matches_history
    assert answer.differences == [
        "new: journal 1, history 2",
        "ignored: journal 1, history 0",
        "ignored do_not_mail: journal 1, history 0",
    ]


def test_a_batch_missing_from_the_journal_is_named(run: Any) -> None:
    r = run.record
    batches = [run.batch(seq, [r(str(seq), f"{seq}@x.co")]) for seq in range(4)]
    recorded = count_outcomes(item for batch in batches for item in batch.outcomes)
    answer = _replayed(run, batches[0], batches[3], batch_count=4).verdict(_summary(run, recorded))
    assert answer.differences == [
        "batches: fetch.completed announced 4, the journal has 2",
        "batches missing from the journal: 1, 2",
        "total: journal 2, history 4",
        "new: journal 2, history 4",
    ]


def test_a_journal_that_lost_the_run_s_start_or_the_fetch_s_end_says_so(run: Any) -> None:
    replay = RunReplay(run.run_id)
    replay.add(run.batch(0, []))
    answer = replay.verdict(_summary(run, RunCounts()))
    assert answer.differences == [
        "sync.due is not in the journal (the run's start has left it)",
        "fetch.completed is not in the journal",
    ]
    assert RunReplay(run.run_id).verdict(_summary(run, RunCounts(), RunState.FAILED)).differences == [
        "sync.due is not in the journal (the run's start has left it)"
    ]


def test_a_batch_journaled_twice_counts_once(run: Any) -> None:
    batch = run.batch(0, [run.record("1", "a@x.co")])
    again = batch.model_copy(update={"occurred_at": batch.occurred_at + timedelta(minutes=5)})
    answer = _replayed(run, batch, again, batch_count=1).verdict(
        _summary(run, count_outcomes(batch.outcomes))
    )
    assert answer.matches_history
    assert [e.type for e in answer.events].count("batch.imported") == 2


def test_a_version_1_batch_is_counted_with_its_reasons_read(run: Any) -> None:
    legacy = BatchImportedV1.model_validate(
        {
            "correlation_id": run.run_id,
            "run_id": run.run_id,
            "sync_id": run.sync_id,
            "seq": 0,
            "version": 1,
            "outcomes": [
                {"record_id": "1", "email": "a@x.co", "outcome": "new", "reason": None},
                {
                    "record_id": "2",
                    "email": "7",
                    "outcome": "ignored",
                    "reason": "malformed: Email is a number",
                },
                {"record_id": "3", "email": "b@x.co", "outcome": "ignored", "reason": "opt_out"},
            ],
        }
    ).upgrade()
    counts = _replayed(run, legacy).journal_counts()
    assert (counts.total, counts.new, counts.ignored) == (3, 1, 2)
    assert (
        counts.ignored_by_reason[IgnoreReason.MALFORMED]
        == counts.ignored_by_reason[IgnoreReason.OPT_OUT]
        == 1
    )


def test_count_differences_of_equal_counts_is_empty() -> None:
    counts = RunCounts(total=1, new=1)
    assert count_differences(counts, counts) == []


def test_many_missing_batches_are_named_in_part() -> None:
    assert name_batches([1, 2]) == "1, 2"
    assert name_batches(list(range(12))) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"


def test_the_retention_is_said_from_the_stream_s_arguments() -> None:
    assert Retention("7D", 2 * 1024**3).describe() == "it keeps events for 7 days, up to 2 GiB"
    assert Retention("1h", 512 * 1024**2).describe() == "it keeps events for 1 hour, up to 512 MiB"
