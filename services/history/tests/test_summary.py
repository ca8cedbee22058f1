"""The run summary RPC replies and RunCompleted carry: INTERFACE.md "Run summary", every key present."""

from __future__ import annotations

from datetime import UTC, datetime

from recruit_sync.history.store.runs import summary_of

INTERFACE_KEYS = {
    "run_id", "sync_id", "state", "trigger", "started_at", "finished_at", "total", "new", "re_added",
    "duplicate", "updated", "unchanged", "ignored", "ignored_by_reason", "deleted", "api_calls",
    "credits", "error",
}  # fmt: skip
REASONS = {
    "empty_email", "invalid_pattern", "role_address", "file_duplicate", "opt_out", "converted",
    "do_not_mail", "bounced", "malformed",
}  # fmt: skip


def _row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "run_id": "run-1",
        "sync_id": "sync-1",
        "state": "succeeded",
        "trigger": "manual",
        "started_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        "finished_at": datetime(2026, 11, 2, 9, 31, tzinfo=UTC),
        "total": 3,
        "new": 1,
        "re_added": 0,
        "duplicate": 0,
        "updated": 0,
        "unchanged": 1,
        "ignored": 1,
        "ignored_by_reason": {"opt_out": 1},  # stored breakdowns list only the reasons seen
        "deleted": 2,
        "api_calls": 4,
        "credits": 12,
        "error": None,
    }
    return row | overrides


def test_summary_has_exactly_the_interface_keys_and_every_ignore_reason() -> None:
    summary = summary_of(_row()).model_dump(mode="json")  # type: ignore[arg-type]
    assert set(summary) == INTERFACE_KEYS
    assert set(summary["ignored_by_reason"]) == REASONS
    assert summary["ignored_by_reason"]["opt_out"] == 1
    assert summary["ignored_by_reason"]["bounced"] == 0
    assert summary["state"] == "succeeded" and summary["trigger"] == "manual"
    assert summary["started_at"].startswith("2026-11-02T09:30:00")
    assert (summary["total"], summary["deleted"], summary["credits"]) == (3, 2, 12)


def test_a_run_known_only_from_a_rejection_has_nulls_not_missing_keys() -> None:
    row = _row(sync_id=None, state="failed", trigger=None, started_at=None, error="bad batch", total=0)
    summary = summary_of(row).model_dump(mode="json")  # type: ignore[arg-type]
    assert set(summary) == INTERFACE_KEYS
    assert summary["sync_id"] == "" and summary["trigger"] is None and summary["started_at"] is None
    assert summary["state"] == "failed" and summary["error"] == "bad batch"
