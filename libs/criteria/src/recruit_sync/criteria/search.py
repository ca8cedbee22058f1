"""Planning a criteria fetch: Recruit's search endpoint when it selects exactly what the local evaluator
would, otherwise list every record and filter locally (SPEC section 3, docs/adr/0009).

Recruit's search understands ``equals`` and ``starts_with``, ``and`` / ``or`` and parentheses, at most
10 conditions, and compares a field's *text* case-insensitively (``values.text_forms``: a number by its
digits, a boolean as ``true``/``false``, a lookup by name or id, a multi-select by any item). The local
evaluator compares ``starts_with`` the same way, and ``equals`` by the field's type; the two agree for
every possible record exactly when the value's text is the one text of its typed reading. So a value
goes to search only if it is

* a boolean (sent as ``true`` / ``false``) or a number (sent canonically: ``5`` for ``5.0``), or
* text that is not a date or date-time (``2026-10-01`` equals ``2026-10-01T10:00:00+05:30`` by day
  locally, but not as text), not another spelling of a number (``5.0``, ``05``: ``5.0`` equals the
  number ``5`` locally, but not as text), without surrounding spaces (whether Recruit trims is not
  documented) and without a backslash (Recruit documents no escape for it);

and its field is a plain API name (not ``Lookup.name`` nor a ``$`` system field). ``in`` becomes an
``or`` of ``equals``. ``(``, ``)`` and ``,`` in values are escaped with a backslash; the HTTP client
URL-encodes the whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from recruit_sync.contracts.sync_spec import Operator
from recruit_sync.criteria.evaluate import Check, Criteria
from recruit_sync.criteria.pattern import Expr, Ref
from recruit_sync.criteria.values import (
    Scalar,
    as_moment,
    as_number,
    canonical_text,
    is_canonical_number_text,
)

MAX_SEARCH_CONDITIONS: Final = 10
_SEARCH_OPERATORS: Final = {
    Operator.EQUALS: "equals",
    Operator.IN: "equals",
    Operator.STARTS_WITH: "starts_with",
}
_ESCAPED = re.compile(r"([(),])")


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """Fetch with ``GET {module}/search?criteria=...``; ``criteria`` is escaped, not yet URL-encoded."""

    criteria: str
    conditions: int


@dataclass(frozen=True, slots=True)
class ListPlan:
    """List every record and filter locally; ``reason`` says why search would not do (for the log)."""

    reason: str


class _NotSearchable(Exception):
    pass


def plan_fetch(criteria: Criteria) -> SearchPlan | ListPlan:
    """Search if the whole criteria can be sent there with the same result, else list and filter."""
    try:
        text, count = _render(criteria.expression, criteria.checks)
    except _NotSearchable as exc:
        return ListPlan(str(exc))
    if count > MAX_SEARCH_CONDITIONS:
        return ListPlan(f"{count} search conditions; Recruit's search takes at most {MAX_SEARCH_CONDITIONS}")
    return SearchPlan(text, count)


def escape_value(text: str) -> str:
    """``Burns,B`` -> ``Burns\\,B``: Recruit's escape for ``(``, ``)`` and ``,`` in criteria values."""
    return _ESCAPED.sub(r"\\\1", text)


def search_text(value: Scalar, *, typed: bool) -> str:
    """The text search gets for ``value``; ``typed`` for ``equals`` (compared by type locally).

    Raises _NotSearchable naming why search could select differently.
    """
    if isinstance(value, bool | int | float):
        return canonical_text(value)
    if value != value.strip():
        raise _NotSearchable(f"the value {value!r} has surrounding spaces")
    if "\\" in value:
        raise _NotSearchable(f"the value {value!r} has a backslash")
    if typed and as_moment(value) is not None:
        raise _NotSearchable(f"the value {value!r} is a date: search would compare it as text")
    if typed and as_number(value) is not None and not is_canonical_number_text(value):
        raise _NotSearchable(f"the value {value!r} spells a number another way: search compares text")
    return value


def _render(expr: Expr, checks: tuple[Check, ...]) -> tuple[str, int]:
    if isinstance(expr, Ref):
        return _render_check(checks[expr.number - 1])
    rendered = [_render(part, checks) for part in expr.parts]
    text = expr.connective.join(part for part, _ in rendered)
    return f"({text})", sum(count for _, count in rendered)


def _render_check(check: Check) -> tuple[str, int]:
    operator = _SEARCH_OPERATORS.get(check.operator)
    if operator is None:
        raise _NotSearchable(f"condition {check.number} uses {check.operator.value!r}")
    if "." in check.field or check.field.startswith("$"):
        raise _NotSearchable(f"condition {check.number}'s field {check.field!r} is not searchable")
    typed = operator == "equals"
    try:
        values = [escape_value(search_text(operand.raw, typed=typed)) for operand in check.operands]

    except _NotSearchable as exc:
        raise _NotSearchable(f"condition {check.number}: {exc}") from None
    parts = [f"({check.field}:{operator}:{value})" for value in values]
    text = parts[0] if len(parts) == 1 else f"({'or'.join(parts)})"
    return text, len(parts)
