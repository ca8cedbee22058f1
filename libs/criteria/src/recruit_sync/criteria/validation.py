"""Criteria checked and compiled once: the scheduler refuses a bad spec, the fetcher evaluates a good one.

The contracts model has already checked each condition's shape (a field API name, a known operator, a
single value / ``[low, high]`` / a list as the operator needs). This adds what needs the pattern
language and the value types; every message names the key, e.g.
``selection.pattern: condition 5 does not exist (at position 14)`` or
``selection.conditions.1.value: '2026-02-30' is not a valid date``.
"""

from __future__ import annotations

import math

from recruit_sync.contracts.sync_spec import Condition, Operator, SelectCriteria, Selection
from recruit_sync.criteria.evaluate import ORDERINGS, TEXT_TESTS, Check, Criteria, Operand
from recruit_sync.criteria.pattern import PatternError, parse_pattern
from recruit_sync.criteria.values import (
    Scalar,
    as_moment,
    compare_moments,
    is_naive_datetime,
    looks_like_moment,
)

_ORDERED = (*ORDERINGS, Operator.BETWEEN)


class CriteriaError(ValueError):
    """Criteria that cannot be used; the message names the key (``selection.…``) and the problem."""


def check_selection(selection: Selection) -> None:
    """Raise CriteriaError if ``selection`` is criteria that cannot be used (other kinds always pass)."""
    if isinstance(selection, SelectCriteria):
        compile_criteria(selection)


def compile_criteria(selection: SelectCriteria) -> Criteria:
    """The selection's criteria, validated and ready to evaluate; CriteriaError names what is wrong."""
    checks = tuple(_check(number, condition) for number, condition in enumerate(selection.conditions, 1))
    try:
        expression = parse_pattern(selection.effective_pattern(), len(checks))
    except PatternError as exc:
        raise CriteriaError(f"selection.pattern: {exc}") from None
    return Criteria(checks, expression)


def _check(number: int, condition: Condition) -> Check:
    key = f"selection.conditions.{number - 1}.value"
    operator = condition.operator
    if operator in (Operator.IS_EMPTY, Operator.IS_NOT_EMPTY):
        return Check(number, condition.field, operator, ())
    raw = condition.value
    values: list[Scalar] = list(raw) if isinstance(raw, list) else [raw] if raw is not None else []
    for value in values:
        problem = _value_problem(operator, value)
        if problem:
            raise CriteriaError(f"{key}: {problem}")
    operands = tuple(Operand.of(value) for value in values)
    if operator is Operator.BETWEEN:
        problem = _range_problem(*operands)
        if problem:
            raise CriteriaError(f"{key}: {problem}")
    return Check(number, condition.field, operator, operands)


def _value_problem(operator: Operator, value: Scalar) -> str | None:
    if isinstance(value, str) and not value.strip():
        return "is empty; to select records whose field is empty use the operator 'is_empty'"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if isinstance(value, bool) and (operator in TEXT_TESTS or operator is Operator.NOT_CONTAINS):
        return f"operator {operator.value!r} compares text; give text or a number, not {str(value).lower()}"
    if isinstance(value, bool) and operator in _ORDERED:
        return f"operator {operator.value!r} takes a number, a date, a date-time or text, not true/false"
    if is_naive_datetime(value):
        return f"{value!r} is a date-time without a UTC offset; add one, e.g. {value}+05:30"
    if looks_like_moment(value) and as_moment(value) is None:
        return f"{value!r} is not a valid date or date-time (yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss+HH:MM)"
    return None


def _range_problem(low: Operand, high: Operand) -> str | None:
    """``between`` needs two values of one kind, low first."""
    kinds = (_kind(low), _kind(high))
    if kinds[0] != kinds[1]:
        return f"'between' needs two values of one kind, got a {kinds[0]} and a {kinds[1]}"
    if low.moment is not None and high.moment is not None:
        reversed_ = compare_moments(low.moment, high.moment) > 0
    elif low.number is not None and high.number is not None:
        reversed_ = low.number > high.number
    else:
        reversed_ = low.text > high.text
    if reversed_:
        return f"'between' takes [low, high], but {low.raw!r} is above {high.raw!r}"
    return None


def _kind(operand: Operand) -> str:
    if operand.moment is not None:
        return "date"
    if operand.number is not None:
        return "number"
    return "text"
