from __future__ import annotations

from datetime import UTC, datetime

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import (
    EVENT_TYPES,
    BatchImported,
    ConnectionSnapshot,
    DeletedRecord,
    FetchCompleted,
    FetchFailed,
    ImportSettings,
    MessageRejected,
    Options,
    RecordBatch,
    RecordOutcome,
    RunCompleted,
    RunSummary,
    Superseded,
    SyncDue,
    Trigger,
)
from recruit_sync.contracts.sync_spec import FieldMapping, SelectCustomView
from recruit_sync.runtime.broker import encode_event

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
SETTINGS = ImportSettings(
    list_name="L",
    options=Options(),
    mapping=[FieldMapping(**{"from": "Email", "to": "email"})],
    settings_version=2,
    options_enabled_at={"exclude_opt_out": NOW},
)


def one_of_each() -> list[Envelope]:
    connection = ConnectionSnapshot(
        connection_id="c", name="n", base_url="http://x", accounts_url="http://x",
        client_id="cid", client_secret_enc="enc", refresh_token_enc="enc",
    )  # fmt: skip
    summary = RunSummary(
        run_id="r", sync_id="s", state="succeeded", trigger=Trigger.MANUAL, started_at=NOW, finished_at=NOW
    )
    return [
        SyncDue(
            run_id="r",
            sync_id="s",
            sync_name="n",
            trigger=Trigger.SCHEDULE,
            due_at=NOW,
            module="Candidates",
            selection=SelectCustomView(kind="custom_view", cvid="5001"),
            connection=connection,
            settings=SETTINGS,
        ),
        RecordBatch(
            run_id="r",
            sync_id="s",
            seq=1,
            module="Candidates",
            settings=SETTINGS,
            records=[{"id": "1", "Email": "a@b.c", "Owner": {"name": "x", "id": "2"}}, "not an object"],
            deleted=[DeletedRecord(id="9", deleted_time=NOW)],
        ),
        FetchCompleted(
            run_id="r", sync_id="s", batch_count=1, record_count=2, api_calls=3, credits=5, started_at=NOW
        ),
        FetchFailed(run_id="r", sync_id="s", error="e", auth_failed=True),
        BatchImported(
            run_id="r",
            sync_id="s",
            seq=1,
            outcomes=[
                RecordOutcome(
                    record_id="1", email=None, outcome="ignored", reason="malformed", problem="id missing"
                )
            ],
            superseded=[Superseded(seq=0, position=3, by=0, becomes="file_duplicate")],
        ),
        MessageRejected(consumer="c", queue="q", run_id=None, message_id=None, reason="r"),
        RunCompleted(summary=summary),
    ]


def test_every_event_type_encodes_and_decodes_to_itself() -> None:
    events = one_of_each()
    assert {type(e) for e in events} == set(EVENT_TYPES.values())
    for event in events:
        assert type(event).model_validate_json(encode_event(event)) == event
