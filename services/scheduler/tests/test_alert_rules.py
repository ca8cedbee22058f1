"""The alert rules (scheduler.alerts): which notifications each run causes, once per change of state."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from recruit_sync.contracts.events import RunState
from recruit_sync.contracts.sync_spec import Alert, AlertEvent
from recruit_sync.scheduler.alerts import FinishedRun, Raised, after_run, forget_gone, on_deactivation

ALERT = TypeAdapter(Alert)
HOOK = "https://hooks.example.com/a"
EVERYTHING = ALERT.validate_python(
    {
        "kind": "webhook",
        "url": HOOK,
        "secret": "s",
        "on": [event.value for event in AlertEvent],
        "ignored_above": 0.2,
        "volume_drop": 0.5,
    }
)
MAIL = ALERT.validate_python({"kind": "email", "to": ["ops@example.com"], "on": ["run_failed"]})


def run(state: RunState = RunState.SUCCEEDED, **counts: Any) -> FinishedRun:
    fields: dict[str, Any] = {"total": 10, "ignored": 0, "previous_total": None, **counts}
    return FinishedRun(run_id="r", state=state, error="boom" if state is RunState.FAILED else None, **fields)


def events(alerts: list[Alert], runs: list[FinishedRun], raised: Raised = frozenset()) -> list[list[str]]:
    """The events each run in turn notifies."""
    seen = []
    for each in runs:
        sent, raised = after_run(alerts, raised, each)
        seen.append([f"{n.event.value}@{n.target}" for n in sent])
    return seen


FAILED = run(RunState.FAILED)
OK = run()


def test_a_failed_run_notifies_once_and_the_first_success_after_it_recovers() -> None:
    assert events([EVERYTHING], [FAILED, FAILED, OK, OK]) == [
        [f"run_failed@{HOOK}"],
        [],
        [f"run_recovered@{HOOK}"],
        [],
    ]


def test_a_success_without_a_failure_before_it_notifies_nothing() -> None:
    assert events([EVERYTHING], [OK]) == [[]]


def test_each_alert_notifies_only_its_own_events() -> None:
    # the email is on failures only: no recovery mail, but it fails again after the recovery
    assert events([MAIL], [FAILED, OK, FAILED]) == [
        ["run_failed@ops@example.com"],
        [],
        ["run_failed@ops@example.com"],
    ]


def test_an_alert_on_recoveries_only_still_knows_a_failure_came_first() -> None:
    alert = ALERT.validate_python({"kind": "email", "to": ["a@b.example"], "on": ["run_recovered"]})
    assert events([alert], [FAILED, OK]) == [[], ["run_recovered@a@b.example"]]


def test_ignored_above_its_threshold_notifies_once_until_it_falls_back() -> None:
    high, low = run(total=10, ignored=4), run(total=10, ignored=2)  # 40%, then exactly 20% (not above)
    assert events([EVERYTHING], [high, high, low, high]) == [
        [f"ignored_above@{HOOK}"],
        [],
        [],
        [f"ignored_above@{HOOK}"],
    ]


def test_a_failed_run_does_not_judge_its_partial_counts() -> None:
    assert events([EVERYTHING], [run(RunState.FAILED, total=10, ignored=9)]) == [[f"run_failed@{HOOK}"]]


def test_an_empty_run_has_no_share_of_ignored() -> None:
    assert events([EVERYTHING], [run(total=0, ignored=0)]) == [[]]


def test_a_volume_drop_below_the_fraction_of_the_previous_success_notifies_once() -> None:
    dropped = run(total=40, previous_total=100)
    again = run(total=10, previous_total=40)  # still below half of the previous: still the same drop
    back = run(total=30, previous_total=10)
    at_half = run(total=50, previous_total=100)  # not below
    assert events([EVERYTHING], [dropped, again, back, at_half, dropped]) == [
        [f"volume_drop@{HOOK}"],
        [],
        [],
        [],
        [f"volume_drop@{HOOK}"],
    ]


def test_the_first_run_has_no_volume_to_drop_from() -> None:
    assert events([EVERYTHING], [run(total=0, previous_total=None)]) == [[]]


def test_a_running_state_changes_nothing() -> None:
    raised: Raised = frozenset({(HOOK, AlertEvent.RUN_FAILED)})
    sent, after = after_run([EVERYTHING], raised, run(RunState.RUNNING))
    assert sent == [] and after == raised


def test_the_state_is_kept_per_target() -> None:
    other = ALERT.validate_python({"kind": "webhook", "url": "https://other.example/x", "secret": "s"})
    raised: Raised = frozenset({(HOOK, AlertEvent.RUN_FAILED)})
    sent, _ = after_run([EVERYTHING, other], raised, FAILED)
    assert [n.target for n in sent] == ["https://other.example/x"]
    assert forget_gone(raised, [other]) == frozenset()


def test_a_deactivation_notifies_the_alerts_on_it() -> None:
    sent = on_deactivation([EVERYTHING, MAIL], "auth_failed")
    assert [(n.event, n.target, n.detail) for n in sent] == [
        (AlertEvent.SYNC_DEACTIVATED, HOOK, {"reason": "auth_failed"})
    ]


def test_a_notification_carries_the_figures() -> None:
    sent, _ = after_run([EVERYTHING], frozenset(), run(total=10, ignored=4))
    assert sent[0].detail == {"ignored": 4, "total": 10, "share": 0.4, "threshold": 0.2}
    sent, _ = after_run([EVERYTHING], frozenset(), FAILED)
    assert sent[0].detail == {"state": "failed", "error": "boom"} and sent[0].run_id == "r"
