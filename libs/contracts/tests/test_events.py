from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from recruit_sync.contracts import topology
from recruit_sync.contracts.envelope import deterministic_id
from recruit_sync.contracts.events import (
    EVENT_TYPES,
    BatchImported,
    FetchCompleted,
    IgnoreReason,
    ImportSettings,
    Options,
    RecordBatch,
    RecordOutcome,
    RunCounts,
    RunSummary,
    batch_imported_id,
    run_id_for_schedule,
)
from recruit_sync.contracts.sync_spec import FieldMapping

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
    assert set(EVENT_TYPES) - bound == {topology.SYNC_DEACTIVATED}


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
