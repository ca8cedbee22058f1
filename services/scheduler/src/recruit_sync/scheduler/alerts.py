"""Which notifications a finished run (or a deactivation) causes: once per change of state (pure).

Each alert of a sync's spec (a webhook or an email) keeps, per condition, whether it has been raised:
``run_failed`` (the last run failed), ``ignored_above`` (the last successful run ignored more than the
threshold's share of its records) and ``volume_drop`` (its total fell below the threshold times the
previous successful run's). A condition notifies when it becomes raised; ``run_failed`` also notifies
``run_recovered`` when it clears. The state is kept whether or not the alert's ``on`` includes the event,
so an alert on recoveries only still knows that a failure came first. A deactivation notifies every time
it happens (the store reports only syncs whose state changed).

The state is keyed by the alert's target (its URL, or its addresses), so editing other keys of the
spec keeps it, and a new target starts with nothing raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from recruit_sync.contracts.events import RunState
from recruit_sync.contracts.sync_spec import Alert, AlertEvent, WebhookAlert

# the conditions kept per alert; a raised one is in the set of (target, condition)
CONDITIONS = (AlertEvent.RUN_FAILED, AlertEvent.IGNORED_ABOVE, AlertEvent.VOLUME_DROP)

Raised = frozenset[tuple[str, AlertEvent]]


@dataclass(frozen=True)
class FinishedRun:
    """What the rules read of a run: its summary's state and counts, and the previous success's total."""

    run_id: str
    state: RunState
    total: int
    ignored: int
    error: str | None
    previous_total: int | None  # the previous successful run's total; None when there was none


@dataclass(frozen=True)
class Notification:
    alert: Alert
    target: str
    event: AlertEvent
    run_id: str | None
    detail: dict[str, Any]


def target_of(alert: Alert) -> str:
    """What the alert's state is keyed by, and what a listing shows (never its secret)."""
    if isinstance(alert, WebhookAlert):
        return alert.url
    return ", ".join(sorted(alert.to))


def after_run(alerts: Iterable[Alert], raised: Raised, run: FinishedRun) -> tuple[list[Notification], Raised]:
    """The notifications ``run`` causes and the raised conditions after it.

    A failed run judges only failure (its counts are partial); a successful one clears the failure and
    judges the shares. A state of the run other than those two changes nothing.
    """
    now_raised = set(raised)
    notifications: list[Notification] = []
    for alert in alerts:
        target = target_of(alert)
        for event, holds, detail in _judge(alert, run):
            key = (target, event)
            if holds and key not in now_raised:
                now_raised.add(key)
                if event in alert.on:
                    notifications.append(Notification(alert, target, event, run.run_id, detail))
            elif not holds and key in now_raised:
                now_raised.discard(key)
                if event is AlertEvent.RUN_FAILED and AlertEvent.RUN_RECOVERED in alert.on:
                    recovered = Notification(alert, target, AlertEvent.RUN_RECOVERED, run.run_id, detail)
                    notifications.append(recovered)
    return notifications, frozenset(now_raised)


def _judge(alert: Alert, run: FinishedRun) -> list[tuple[AlertEvent, bool, dict[str, Any]]]:
    """(condition, whether it holds, the detail a notification of it carries) for each condition the run
    can judge."""
    if run.state is RunState.FAILED:
        return [(AlertEvent.RUN_FAILED, True, {"state": run.state.value, "error": run.error})]
    if run.state is not RunState.SUCCEEDED:
        return []
    judged: list[tuple[AlertEvent, bool, dict[str, Any]]] = [
        (AlertEvent.RUN_FAILED, False, {"state": run.state.value, "total": run.total})
    ]
    if alert.ignored_above is not None and run.total > 0:
        share = run.ignored / run.total
        detail = {"ignored": run.ignored, "total": run.total, "share": round(share, 4)}
        judged.append(
            (
                AlertEvent.IGNORED_ABOVE,
                share > alert.ignored_above,
                detail | {"threshold": alert.ignored_above},
            )
        )
    if alert.volume_drop is not None and run.previous_total:
        low = run.total < alert.volume_drop * run.previous_total
        detail = {"total": run.total, "previous_total": run.previous_total, "threshold": alert.volume_drop}
        judged.append((AlertEvent.VOLUME_DROP, low, detail))
    return judged


def on_deactivation(alerts: Iterable[Alert], reason: str) -> list[Notification]:
    """A sync just became inactive (its connection's credentials failed or changed)."""
    return [
        Notification(alert, target_of(alert), AlertEvent.SYNC_DEACTIVATED, None, {"reason": reason})
        for alert in alerts
        if AlertEvent.SYNC_DEACTIVATED in alert.on
    ]


def forget_gone(raised: Raised, alerts: Iterable[Alert]) -> Raised:
    """The raised conditions of targets the spec still has (an edited-out target starts afresh)."""
    targets = {target_of(alert) for alert in alerts}
    return frozenset(key for key in raised if key[0] in targets)


def as_rows(raised: Raised) -> list[tuple[str, str]]:
    return sorted((target, event.value) for target, event in raised)


def from_rows(rows: Iterable[Any]) -> Raised:
    """Rows of (target, event) as ``store.alert_state`` reads them."""
    return frozenset((row["target"], AlertEvent(row["event"])) for row in rows)
