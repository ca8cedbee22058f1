"""Timestamps as Zoho Recruit writes them: ISO 8601, whole seconds, with an offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

#: Offset the simulator writes its own timestamps in (Zoho answers in the account's zone).
SIM_TZ = timezone(timedelta(hours=5, minutes=30))
_SIM_OFFSET = 19800
_SIM_SUFFIX = "+05:30"


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


def format_epoch(epoch: float) -> str:
    """`1700000000` -> `2023-11-15T03:43:20+05:30` (whole seconds, in SIM_TZ)."""
    day, second = divmod(int(epoch) + _SIM_OFFSET, 86400)
    hour, rest = divmod(second, 3600)
    return f"{_day_prefix(day)}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}{_SIM_SUFFIX}"


def parse_timestamp(text: str) -> float:
    """Epoch seconds of an ISO 8601 date-time (naive means UTC) or an RFC 1123 HTTP date.

    Raises ValueError when the text is neither.
    """
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"not a timestamp: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def record_epoch(value: object) -> float | None:
    """Epoch seconds of a record's timestamp field, None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None
