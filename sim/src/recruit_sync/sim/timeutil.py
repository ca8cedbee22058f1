"""Timestamps as Zoho Recruit writes them: ISO 8601, whole seconds, with an offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

#: Offset the simulator writes its own timestamps in (Zoho answers in the account's zone).
SIM_TZ = timezone(timedelta(hours=5, minutes=30))
SIM_OFFSET = 19800  # SIM_TZ in seconds
_SIM_SUFFIX = "+05:30"


def _day_prefix(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


#: `YYYY-MM-DD` by day number (epoch days in SIM_TZ), filled as days are formatted (bounded below).
DAY_TEXT: dict[int, str] = {}
_MAX_DAYS = 4096
#: `THH:MM:` of every minute of a day and `SS+05:30` of every second of a minute: a generated page
#: writes two timestamps a record, and formatting them field by field was the simulator's top cost.
MINUTE_TEXT: tuple[str, ...] = tuple(
    f"T{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60)
)
SECOND_TEXT: tuple[str, ...] = tuple(f"{second:02d}{_SIM_SUFFIX}" for second in range(60))


def day_text(day: int) -> str:
    """`YYYY-MM-DD` of a day number (days since 1970-01-01 in SIM_TZ), kept in `DAY_TEXT`."""
    text = DAY_TEXT.get(day)
    if text is None:
        if len(DAY_TEXT) >= _MAX_DAYS:
            DAY_TEXT.clear()
        text = DAY_TEXT[day] = _day_prefix(day)
    return text


def format_epoch(epoch: float) -> str:
    """`1700000000` -> `2023-11-15T03:43:20+05:30` (whole seconds, in SIM_TZ).

    `GeneratedCandidates.records` inlines this: change both together."""
    day, second = divmod(int(epoch) + SIM_OFFSET, 86400)
    minute, second = divmod(second, 60)
    return (DAY_TEXT.get(day) or day_text(day)) + MINUTE_TEXT[minute] + SECOND_TEXT[second]


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
