from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from recruit_sync.contracts import topology
from recruit_sync.contracts.events import (
    EVENT_TYPES,
    BatchImported,
    Displacement,
    FetchCompleted,
    IgnoreReason,
    ImportSettings,
    Options,
    Outcome,
    Outcomes,
    RecordBatch,
    RecordOutcome,
    RunCounts,
    RunSummary,
    Superseded,
    UnreadableEvent,
    read_event,
)
from recruit_sync.contracts.ids import batch_imported_id, deterministic_id, run_id_for_schedule
from recruit_sync.contracts.records import fields_read, modified_fields
from recruit_sync.contracts.sync_spec import FieldMapping

NOW = datetime(2026, 11, 30, tzinfo=UTC)

SETTINGS = ImportSettings(
    list_name="L",
    options=Options(),
    mapping=[FieldMapping(**{"from": "Email", "to": "email"})],
    settings_version=1,
)


def test_an_event_round_trips_through_json() -> None:
    batch = RecordBatch(
        run_id="r",
        sync_id="s",
        seq=3,
        module="Candidates",
        settings=SETTINGS,
        records=[{"id": "1", "Email": "a@b.c"}],
    )
    again = RecordBatch.model_validate_json(batch.model_dump_json(by_alias=True))
    assert again == batch
    assert again.settings.mapping[0].from_ == "Email"


def test_a_consumer_refuses_another_type_or_an_unknown_version() -> None:
    body = FetchCompleted(
        run_id="r",
        sync_id="s",
        batch_count=1,
        record_count=1,
        api_calls=1,
        credits=3,
        started_at=datetime.now(UTC),
    ).model_dump(mode="json")
    with pytest.raises(ValidationError):
        BatchImported.model_validate(body)
    with pytest.raises(ValidationError):
        FetchCompleted.model_validate({**body, "version": 2})
    with pytest.raises(ValidationError):
        FetchCompleted.model_validate({**body, "surprise": True})


def test_amqp_properties_carry_the_event_id_and_run() -> None:
    event = BatchImported(run_id="r", sync_id="s", seq=0, outcomes=[], correlation_id="r")
    props = event.amqp_properties()
    assert props["message_id"] == str(event.event_id)
    assert props["correlation_id"] == "r" and props["persist"] is True


def test_deterministic_ids_collide_exactly_when_they_should() -> None:
    due = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert run_id_for_schedule("s1", due) == run_id_for_schedule("s1", due)
    assert run_id_for_schedule("s1", due) != run_id_for_schedule("s2", due)
    assert batch_imported_id("r", 1) == batch_imported_id("r", 1) != batch_imported_id("r", 2)
    assert deterministic_id("a", 1) != deterministic_id("a1")


def test_every_event_type_is_routed_to_a_queue_or_is_terminal() -> None:
    bound = {key for keys in topology.WORK_QUEUES.values() for key in keys}
    assert set(EVENT_TYPES) - bound == set()


def test_run_counts_know_every_ignore_reason() -> None:
    assert set(RunCounts().ignored_by_reason) == set(IgnoreReason)
    summary = RunSummary(
        run_id="r", sync_id="s", state="running", trigger=None, started_at=None, finished_at=None
    )
    dumped = summary.model_dump(mode="json")
    assert list(dumped["ignored_by_reason"]) == [r.value for r in IgnoreReason]


def test_an_outcome_refuses_an_unknown_outcome() -> None:
    with pytest.raises(ValidationError):
        RecordOutcome(record_id="1", email=None, outcome="maybe")  # type: ignore[arg-type]


def test_a_malformed_outcome_reads_as_interface_md_shows_it() -> None:
    malformed = RecordOutcome(
        record_id="1",
        email=None,
        outcome=Outcome.IGNORED,
        reason=IgnoreReason.MALFORMED,
        problem="id missing",
    )
    assert malformed.reason_text == "malformed: id missing"
    assert RecordOutcome(
        record_id="2", email=None, outcome=Outcome.IGNORED, reason="opt_out"
    ).reason_text == ("opt_out")
    assert RecordOutcome(record_id="3", email=None, outcome=Outcome.NEW).reason_text is None


V1_BODY = {
    "type": "batch.imported",
    "version": 1,
    "event_id": "6f1c4f52-2c1e-4f57-9d3b-6a1f0a7d2b10",
    "occurred_at": "2026-11-30T00:00:00+00:00",
    "run_id": "r",
    "sync_id": "s",
    "seq": 2,
    "outcomes": [
        {"record_id": "1", "email": "a@b.co", "outcome": "new", "reason": None},
        {"record_id": "2", "email": "c@d.co", "outcome": "ignored", "reason": "file_duplicate"},
        {"record_id": "3", "email": None, "outcome": "ignored", "reason": "malformed: id is not a string"},
        {"record_id": "4", "email": None, "outcome": "ignored", "reason": "Email is not a string"},
    ],
}


def test_a_version_1_batch_imported_is_still_read_and_upgraded() -> None:
    event = read_event(json.dumps(V1_BODY))
    assert isinstance(event, BatchImported) and event.version == 3 and event.superseded == []
    assert [(o.reason, o.problem) for o in event.outcomes] == [
        (None, None),
        (IgnoreReason.FILE_DUPLICATE, None),
        (IgnoreReason.MALFORMED, "id is not a string"),
        (IgnoreReason.MALFORMED, "Email is not a string"),
    ]
    assert str(event.event_id) == V1_BODY["event_id"] and event.seq == 2


def test_a_version_2_batch_imported_is_read_as_columns_with_its_supersessions() -> None:
    """Version 2 (an object per outcome), still in the journal, is read as version 3 (columns)."""
    body = {
        **V1_BODY,
        "version": 2,
        "outcomes": [
            {"record_id": "1", "email": "a@x.co", "outcome": "new", "reason": None, "problem": None},
            {"record_id": "2", "email": None, "outcome": "ignored", "reason": "malformed", "problem": "bad"},
        ],
        "superseded": [{"seq": 0, "position": 3, "by": 0, "becomes": "file_duplicate"}],
    }
    event = read_event(json.dumps(body), "batch.imported")
    assert isinstance(event, BatchImported) and event.version == 3
    assert event.outcomes.record_id == ["1", "2"] and event.outcomes.problem == [None, "bad"]
    assert event.outcomes[1].reason_text == "malformed: bad"
    assert event.superseded == [Superseded(seq=0, position=3, by=0, becomes=Displacement.FILE_DUPLICATE)]
    assert (
        read_event(event.model_dump_json(by_alias=True), "batch.imported") == event
    )  # and goes on as version 3


def test_outcomes_travel_as_columns_of_one_length() -> None:
    outcomes = Outcomes()
    outcomes.add("1", "a@x.co", Outcome.NEW)
    outcomes.add("2", None, Outcome.IGNORED, IgnoreReason.EMPTY_EMAIL)
    event = BatchImported(run_id="r", sync_id="s", seq=0, outcomes=outcomes, correlation_id="r")
    sent = json.loads(event.model_dump_json(by_alias=True))
    assert sent["version"] == 3 and sent["outcomes"] == {
        "record_id": ["1", "2"],
        "email": ["a@x.co", None],
        "outcome": ["new", "ignored"],
        "reason": [None, "empty_email"],
        "problem": [None, None],
    }
    assert len(event.outcomes) == 2 and list(event.outcomes.counted()) == [
        (Outcome.NEW, None),
        (Outcome.IGNORED, IgnoreReason.EMPTY_EMAIL),
    ]
    assert [o.record_id for o in event.outcomes] == ["1", "2"]  # read as a sequence: a RecordOutcome each
    # a list of outcome objects is taken too, and kept as columns
    listed = BatchImported(run_id="r", sync_id="s", seq=0, outcomes=list(outcomes), correlation_id="r")
    assert listed.outcomes == outcomes
    with pytest.raises(ValidationError, match="the outcome columns differ in length"):
        BatchImported.model_validate_json(
            json.dumps({**sent, "outcomes": {**sent["outcomes"], "email": ["a@x.co"]}})
        )


def test_version_3_written_as_version_2_reads_back_the_same() -> None:
    """What importers send during an upgrade (``as_version_2``) is the same event to every reader."""
    outcomes = Outcomes()
    outcomes.add("1", "a@x.co", Outcome.NEW)
    outcomes.add(None, None, Outcome.IGNORED, IgnoreReason.MALFORMED, "record is not an object")
    superseded = [Superseded(seq=0, position=1, by=0, becomes=Displacement.VOID)]
    event = BatchImported(
        run_id="r", sync_id="s", seq=1, outcomes=outcomes, superseded=superseded, correlation_id="r"
    )
    old = event.as_version_2()
    assert old.version == 2 and old.outcomes == list(outcomes) and old.event_id == event.event_id
    assert read_event(old.model_dump_json(by_alias=True), "batch.imported") == event


def test_an_unknown_type_or_version_is_named() -> None:
    with pytest.raises(UnreadableEvent, match=r"unknown event type 'sync\.deactivated'"):
        read_event(json.dumps({"type": "sync.deactivated", "version": 1}))
    with pytest.raises(UnreadableEvent, match=r"batch\.imported version 7 is not one this service reads"):
        read_event(json.dumps({**V1_BODY, "version": 7}))
    with pytest.raises(UnreadableEvent, match="not a JSON object"):
        read_event("[1, 2]")
    # without a type in the body, the routing key tells
    completed = FetchCompleted(
        run_id="r", sync_id="s", batch_count=0, record_count=0, api_calls=0, credits=0, started_at=NOW
    ).model_dump(mode="json")
    del completed["type"]
    assert isinstance(read_event(json.dumps(completed), "fetch.completed"), FetchCompleted)


def test_the_import_reads_the_checked_fields_and_the_mapped_ones() -> None:
    mapping = [
        FieldMapping(**{"from": "Email", "to": "email"}),
        FieldMapping(**{"from": "Skill_Set", "to": "skills"}),
    ]
    assert fields_read(mapping) == {
        "id",
        "Email",
        "Email_Opt_Out",
        "$converted",
        "Updated_On",
        "Modified_Time",
        "Skill_Set",
    }
    assert modified_fields("Contacts") == ("Modified_Time", "Updated_On")
