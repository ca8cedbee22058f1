"""How the console words things (pure): schedules, times, and where a sign-in may send the browser."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from recruit_sync.contracts.sync_spec import Schedule


def schedule(plan: Schedule) -> str:
    """``weekly on monday at 09:30 (Asia/Kolkata)``: the time in the sync's own zone, as the user set it."""
    if plan.kind == "once":
        return "once" + (f" at {plan.at} ({plan.timezone})" if plan.at else "")
    when = {"weekly": f" on {plan.weekday}", "monthly": f" on day {plan.day}"}.get(plan.kind, "")
    return f"{plan.kind}{when} at {plan.at} ({plan.timezone})"


def moment(value: datetime | None) -> str:
    """``2026-11-02 09:30 +05:30``: minutes are enough to read, the offset says which zone."""
    if value is None:
        return "—"
    offset = value.strftime("%z")
    zone = "UTC" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return f"{value.strftime('%Y-%m-%d %H:%M')} {zone}"


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: ``next`` must not send a signed-in browser
    to another host (``//evil.example``, ``https://...``, ``/\\evil.example``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target
