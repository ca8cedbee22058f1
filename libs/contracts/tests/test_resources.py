from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from recruit_sync.contracts import rpc
from recruit_sync.contracts.events import IgnoreReason
from recruit_sync.contracts.resources import (
    MAX_INT32,
    CredentialChanges,
    ExplainRow,
    Member,
    NewConnection,
    Rekey,
    SuppressionReason,
)
from recruit_sync.contracts.sync_spec import describe_validation_error

CONNECTION = {
    "name": "acme",
    "base_url": "http://127.0.0.1:8700/",
    "accounts_url": "http://127.0.0.1:8700",
    "client_id": "cid",
    "client_secret": "secret",
    "refresh_token": "rt",
}


def _refusal(model: type, data: dict) -> str:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return describe_validation_error(refused.value)


def test_a_credit_budget_must_fit_the_database_column() -> None:
    assert NewConnection.model_validate({**CONNECTION, "daily_credit_budget": MAX_INT32}).daily_credit_budget
    assert _refusal(NewConnection, {**CONNECTION, "daily_credit_budget": MAX_INT32 + 1}) == (
        "daily_credit_budget: Input should be less than or equal to 2147483647"
    )


def test_a_connection_needs_http_urls_and_refuses_unknown_keys() -> None:
    assert NewConnection.model_validate(CONNECTION).base_url == "http://127.0.0.1:8700"
    assert _refusal(NewConnection, {**CONNECTION, "base_url": "ftp://x"}) == (
        "base_url: 'ftp://x' is not an http(s) URL"
    )
    assert _refusal(NewConnection, {**CONNECTION, "zzz": 1}) == "zzz: unknown key"


def test_a_rekey_changes_something_and_may_change_the_client_id() -> None:
    assert Rekey.model_validate({"name": "acme", "client_id": "new"}).client_id == "new"
    assert "give at least one of" in _refusal(Rekey, {"name": "acme"})
    assert "give at least one of" in _refusal(CredentialChanges, {})


def test_suppression_reasons_are_ignore_reasons() -> None:
    assert {IgnoreReason(reason.value) for reason in SuppressionReason} == {
        IgnoreReason.BOUNCED,
        IgnoreReason.DO_NOT_MAIL,
    }


def test_times_keep_their_offset_as_isoformat_writes_it() -> None:
    at = datetime(2026, 11, 30, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    row = ExplainRow(run_id="r", sync_id="s", record_id="1", outcome="new", reason=None, at=at)
    assert row.model_dump(mode="json")["at"] == "2026-11-30T09:30:00+05:30"
    utc = row.model_copy(update={"at": datetime(2026, 11, 30, tzinfo=UTC)})
    assert utc.model_dump(mode="json")["at"] == "2026-11-30T00:00:00+00:00"


def test_a_member_carries_its_mapped_fields_beside_the_names() -> None:
    member = Member.model_validate({"email": "a@b.co", "first_name": "A", "last_name": None, "skills": ["x"]})
    assert member.model_dump() == {"email": "a@b.co", "first_name": "A", "last_name": None, "skills": ["x"]}


def test_every_operation_has_a_unique_name_and_an_answer_type() -> None:
    names = [operation.name for operation in rpc.OPERATIONS]
    assert len(names) == len(set(names)) == 39
    for operation in rpc.OPERATIONS:
        assert operation.answers.json_schema()  # FastAPI can document it
