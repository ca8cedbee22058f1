"""Console forms <-> sync spec data (pure).

Every input is named by its key path in the spec file (``schedule.at``, ``selection.conditions.0.value``),
so the message the models or the scheduler give for a refused spec, which starts with that path, finds its
field without a table of names (see ``messages.place``). The functions here only reshape text into the
spec's JSON shape; the contracts' models judge it, so the console refuses exactly what the API and the CLI
refuse, with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recruit_sync.contracts.sync_spec import Operator, SyncSpec

Values = Mapping[str, str]

CONDITIONS = "selection.conditions"
MAPPING = "mapping"
NO_VALUE = frozenset({Operator.IS_EMPTY.value, Operator.IS_NOT_EMPTY.value})
LISTED = frozenset({Operator.BETWEEN.value, Operator.IN.value})  # values given as "a, b, c"


def text(values: Values, key: str) -> str:
    return values.get(key, "").strip()


def row_numbers(values: Values, prefix: str) -> list[int]:
    """The row indices present under ``prefix`` (``mapping.3.to`` is row 3 of ``mapping``), in order."""
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.")
    return sorted({int(m.group(1)) for key in values if (m := pattern.match(key))})


def with_rows_renumbered(values: Values, prefix: str, rows: list[int]) -> dict[str, str]:
    """``values`` with the rows under ``prefix`` replaced by ``rows`` (old indices), numbered 0.. again.

    Adding and removing rows is done this way, so that the numbers on the page are always those a
    refusal message names (``selection.conditions.1.value`` is the second row shown).
    """
    kept = {key: value for key, value in values.items() if not key.startswith(f"{prefix}.")}
    for new, old in enumerate(rows):
        head = f"{prefix}.{old}."
        for key, value in values.items():
            if key.startswith(head):
                kept[f"{prefix}.{new}.{key.removeprefix(head)}"] = value
    return kept


def change_rows(values: Values, action: str) -> dict[str, str] | None:
    """The form after an ``add:PREFIX`` or ``remove:PREFIX:N`` button, or None for any other action."""
    verb, _, rest = action.partition(":")
    prefix, _, index = rest.partition(":")
    if prefix not in (CONDITIONS, MAPPING):
        return None
    rows = row_numbers(values, prefix)
    if verb == "add":
        first_field = "field" if prefix == CONDITIONS else "from"
        return {**with_rows_renumbered(values, prefix, rows), f"{prefix}.{len(rows)}.{first_field}": ""}
    if verb == "remove" and index.isdigit():
        return with_rows_renumbered(values, prefix, [row for row in rows if row != int(index)])
    return None


def condition_value(operator: str, value: str) -> Any:
    """A condition's value as the spec holds it: none, a list (``between``, ``in``) or one text."""
    if operator in NO_VALUE:
        return None
    if operator in LISTED:
        return [part.strip() for part in value.split(",") if part.strip()]
    return value.strip()


def selection(values: Values) -> dict[str, Any]:
    kind = text(values, "selection.kind") or "all"
    if kind == "custom_view":
        return {"kind": kind, "cvid": text(values, "selection.cvid")}
    if kind != "criteria":
        return {"kind": kind}
    conditions = []
    for row in row_numbers(values, CONDITIONS):
        key = f"{CONDITIONS}.{row}"
        operator = text(values, f"{key}.operator")
        condition = {"field": text(values, f"{key}.field"), "operator": operator}
        value = condition_value(operator, values.get(f"{key}.value", ""))
        if value is not None:
            condition["value"] = value
        conditions.append(condition)
    pattern = text(values, "selection.pattern")
    return {"kind": kind, "conditions": conditions, **({"pattern": pattern} if pattern else {})}


def options(values: Values) -> dict[str, Any]:
    """Checkboxes send their name only when ticked."""
    return {
        "exclude_opt_out": "options.exclude_opt_out" in values,
        "exclude_converted": "options.exclude_converted" in values,
        "on_recruit_delete": text(values, "options.on_recruit_delete") or "keep",
    }


def schedule(values: Values) -> dict[str, Any]:
    """Only the keys the chosen kind takes: a weekday left selected under "monthly" is not an error."""
    kind = text(values, "schedule.kind") or "once"
    data: dict[str, Any] = {"kind": kind, "timezone": text(values, "schedule.timezone") or "UTC"}
    if text(values, "schedule.at"):
        data["at"] = text(values, "schedule.at")
    if kind == "weekly":
        data["weekday"] = text(values, "schedule.weekday") or None
    if kind == "monthly":
        data["day"] = text(values, "schedule.day") or None
    return data


def retrieval(values: Values, timezone: str) -> dict[str, Any]:
    """``after`` comes from a date-time field without an offset: it is read in the sync's time zone."""
    kind = text(values, "retrieval.kind") or "all"
    if kind != "after":
        return {"kind": kind}
    return {"kind": kind, "after": in_zone(text(values, "retrieval.after"), timezone) or None}


def in_zone(local: str, timezone: str) -> str:
    """``2026-11-01T09:30`` in ``timezone`` as ISO 8601 with its offset; text that is not a date-time,
    or a zone that does not exist, is passed on as it is for the model to name the problem."""
    try:
        moment = datetime.fromisoformat(local)
        zone = ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        return local
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()


def mapping(values: Values) -> list[dict[str, str]]:
    return [
        {"from": text(values, f"{MAPPING}.{row}.from"), "to": text(values, f"{MAPPING}.{row}.to")}
        for row in row_numbers(values, MAPPING)
    ]


def favourite(values: Values) -> dict[str, str]:
    name = text(values, "favourite")
    return {"favourite": name} if name else {}


def spec(values: Values) -> dict[str, Any]:
    """The sync spec file the wizard's form describes."""
    zone = text(values, "schedule.timezone") or "UTC"
    return {
        "name": text(values, "name"),
        "connection": text(values, "connection"),
        "module": text(values, "module") or "Candidates",
        "selection": selection(values),
        "list": text(values, "list"),
        "options": options(values),
        "schedule": schedule(values),
        "retrieval": retrieval(values, zone),
        "mapping": mapping(values),
        **favourite(values),
    }


NEW_SYNC = {
    "module": "Candidates",
    "selection.kind": "all",
    f"{CONDITIONS}.0.field": "",
    "options.on_recruit_delete": "keep",
    "schedule.kind": "once",
    "schedule.timezone": "UTC",
    "retrieval.kind": "all",
}
SECTIONS = ("selection", CONDITIONS, "options", "schedule", "retrieval", MAPPING)
FIELDS = (
    *("name", "connection", "module", "list", "favourite", "save_favourite"),
    *("selection.kind", "selection.cvid", "selection.pattern"),
    *("options.exclude_opt_out", "options.exclude_converted", "options.on_recruit_delete"),
    *("schedule.kind", "schedule.at", "schedule.timezone", "schedule.weekday", "schedule.day"),
    *("retrieval.kind", "retrieval.after"),
)


def field_names(values: Values) -> set[str]:
    """Every name a problem can be shown beside on a spec form: fields, sections and rows."""
    rows = {
        f"{prefix}.{row}.{part}"
        for prefix, parts in ((CONDITIONS, ("field", "operator", "value")), (MAPPING, ("from", "to")))
        for row in row_numbers(values, prefix)
        for part in ("", *parts)
    }
    return {*FIELDS, *SECTIONS, *(name.rstrip(".") for name in rows)}


EDITABLE_PARTS = ("mapping", "options", "schedule", "retrieval")


def patch(part: str, values: Values, timezone: str) -> dict[str, Any]:
    """The ``sync edit`` patch one section of the edit page sends (``part`` in EDITABLE_PARTS)."""
    if part == "mapping":
        return {"mapping": mapping(values), **favourite(values)}
    if part == "options":
        return {"options": options(values)}
    if part == "schedule":
        return {"schedule": schedule(values)}
    if part == "retrieval":
        return {"retrieval": retrieval(values, timezone)}
    raise ValueError(f"{part!r} is not a part of a sync the console edits")


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Spec data (as ``model_dump(mode="json", by_alias=True)`` gives it) as the form's values.

    The inverse of the functions above for what a form shows: lists of values joined with ", ",
    ticked options present, ``None`` left out.
    """
    if isinstance(data, dict):
        items: Any = data.items()
    elif isinstance(data, list) and not prefix.endswith(".value"):
        items = enumerate(data)
    else:
        if data is None or data is False:
            return {}
        if isinstance(data, list):
            return {prefix: ", ".join(str(item) for item in data)}
        return {prefix: "on" if data is True else str(data)}
    result: dict[str, str] = {}
    for key, value in items:
        result.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return result


def spec_values(spec: SyncSpec) -> dict[str, str]:
    """A saved spec as the form shows it; ``retrieval.after`` in the sync's own time zone."""
    values = flatten(spec.model_dump(mode="json", by_alias=True))
    if spec.retrieval.after is not None:
        local = spec.retrieval.after.astimezone(ZoneInfo(spec.schedule.timezone))
        values["retrieval.after"] = local.strftime("%Y-%m-%dT%H:%M")
    return values
