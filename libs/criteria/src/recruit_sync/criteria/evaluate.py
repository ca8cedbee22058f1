"""The local evaluator: does a record satisfy the criteria? (SPEC section 3)

* Text comparisons ignore letter case; ``contains``, ``starts_with`` and ``ends_with`` always compare
  text (a number or boolean by its text, a lookup by its name or id).
* ``equals`` and the ordering operators read the condition's value as the record's value is typed: a
  number field compares numbers (``5`` equals ``5.0``), a boolean field booleans (``"TRUE"`` is
  ``true``), a date or date-time field moments (by day when either side is a plain date), a text field
  text. A lookup equals its name or its id; it orders by its name.
* ``between`` includes both ends; ``in`` is ``equals`` any of its values.
* An empty field (see ``values.is_empty``) matches only ``is_empty``, ``not_equals`` and ``not_contains``:
  every ``not_`` operator is the exact negation of its positive one, and the positive ones never match
  an empty field.
* A multi-select (a list) matches a positive operator when any of its non-empty items does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from recruit_sync.contracts.sync_spec import Operator
from recruit_sync.criteria.pattern import Expr, evaluate
from recruit_sync.criteria.values import (
    Moment,
    Number,
    Scalar,
    as_moment,
    as_number,
    canonical_text,
    compare_moments,
    field_value,
    is_empty,
    text_forms,
)

NEGATIONS = {Operator.NOT_EQUALS: Operator.EQUALS, Operator.NOT_CONTAINS: Operator.CONTAINS}
ORDERINGS: dict[Operator, Callable[[int], bool]] = {
    Operator.GREATER_THAN: lambda sign: sign > 0,
    Operator.GREATER_EQUAL: lambda sign: sign >= 0,
    Operator.LESS_THAN: lambda sign: sign < 0,
    Operator.LESS_EQUAL: lambda sign: sign <= 0,
}
TEXT_TESTS: dict[Operator, Callable[[str, str], bool]] = {
    Operator.CONTAINS: lambda text, part: part in text,
    Operator.STARTS_WITH: str.startswith,
    Operator.ENDS_WITH: str.endswith,
}


@dataclass(frozen=True, slots=True)
class Operand:
    """A condition value, read once in every way a field's type may ask for."""

    raw: Scalar
    text: str  # canonical text, case-folded
    number: Number | None
    moment: Moment | None
    boolean: bool | None

    @classmethod
    def of(cls, raw: Scalar) -> Operand:
        text = canonical_text(raw).casefold()
        boolean = raw if isinstance(raw, bool) else {"true": True, "false": False}.get(text)
        return cls(raw, text, as_number(raw), as_moment(raw), boolean)


@dataclass(frozen=True, slots=True)
class Check:
    """One condition (``number`` is its 1-based place in the spec), ready to test records."""

    number: int
    field: str
    operator: Operator
    operands: tuple[Operand, ...]

    def holds(self, record: dict[str, Any]) -> bool:
        value = field_value(record, self.field)
        if self.operator is Operator.IS_EMPTY:
            return is_empty(value)
        if self.operator is Operator.IS_NOT_EMPTY:
            return not is_empty(value)
        if self.operator in NEGATIONS:
            return not _positive(NEGATIONS[self.operator], value, self.operands)
        return _positive(self.operator, value, self.operands)


@dataclass(frozen=True, slots=True)
class Criteria:
    """Conditions combined by a parsed pattern. Build with ``compile_criteria`` (which validates)."""

    checks: tuple[Check, ...]
    expression: Expr

    def matches(self, record: dict[str, Any]) -> bool:
        return evaluate(self.expression, lambda number: self.checks[number - 1].holds(record))

    @property
    def fields(self) -> frozenset[str]:
        """The record fields the conditions read: for ``Lookup.name``, the field ``Lookup`` too (which
        ``values.field_value`` reaches into unless the record has a field named ``Lookup.name``)."""
        return frozenset(name for check in self.checks for name in (check.field, check.field.split(".")[0]))


def _positive(operator: Operator, value: object, operands: Sequence[Operand]) -> bool:
    if is_empty(value):
        return False
    if operator in TEXT_TESTS:
        test, part = TEXT_TESTS[operator], operands[0].text
        return any(test(text.casefold(), part) for text in text_forms(value))
    if operator is Operator.EQUALS or operator is Operator.IN:
        return _any_item(value, lambda item: any(_equals(item, operand) for operand in operands))
    if operator is Operator.BETWEEN:
        low, high = operands
        return _any_item(value, lambda item: _within(item, low, high))
    ordered = ORDERINGS[operator]
    return _any_item(value, lambda item: (sign := _compare(item, operands[0])) is not None and ordered(sign))


def _any_item(value: object, test: Callable[[object], bool]) -> bool:
    """``test`` on a single value, or on each non-empty item of a list (a multi-select)."""
    if isinstance(value, list):
        return any(_any_item(item, test) for item in value)
    return not is_empty(value) and test(value)


def _equals(item: object, operand: Operand) -> bool:
    if isinstance(item, bool):
        return operand.boolean is not None and item == operand.boolean
    if isinstance(item, int | float) and operand.number is not None:
        return item == operand.number
    if isinstance(item, str):
        if operand.moment is not None and (moment := as_moment(item)) is not None:
            return compare_moments(moment, operand.moment) == 0
        return item.casefold() == operand.text
    # numbers compared with non-numeric text, lookups (name or id), anything else: by text
    return operand.text in (text.casefold() for text in text_forms(item))


def _compare(item: object, operand: Operand) -> int | None:
    """The sign of ``item - operand`` read by type, or None when they do not compare (no match)."""
    if isinstance(item, dict):
        item = item.get("name")  # a lookup orders by its name
    if isinstance(item, bool) or item is None:
        return None
    if operand.moment is not None and (moment := as_moment(item)) is not None:
        return compare_moments(moment, operand.moment)
    if operand.number is not None and (number := as_number(item)) is not None:
        return (number > operand.number) - (number < operand.number)
    if isinstance(operand.raw, str) and isinstance(item, str):
        folded = item.casefold()
        return (folded > operand.text) - (folded < operand.text)
    return None


def _within(item: object, low: Operand, high: Operand) -> bool:
    above, below = _compare(item, low), _compare(item, high)
    return above is not None and below is not None and above >= 0 and below <= 0
