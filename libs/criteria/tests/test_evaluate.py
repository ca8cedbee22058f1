"""The local evaluator, operator by operator and type by type (SPEC section 3)."""

from __future__ import annotations

from typing import Any

import pytest

from recruit_sync.contracts.sync_spec import Operator, SelectCriteria
from recruit_sync.criteria import compile_criteria

MISSING = object()
EMPTIES: list[Any] = [MISSING, None, "", "   ", [], ["", None], {"name": None, "id": None}]
LOOKUP = {"name": "Zylker Corp", "id": "486812000000001"}


def holds(value: Any, operator: str, operand: Any = None, field: str = "F") -> bool:
    condition: dict[str, Any] = {"field": field, "operator": operator}
    if operand is not None:
        condition["value"] = operand
    criteria = compile_criteria(
        SelectCriteria.model_validate({"kind": "criteria", "conditions": [condition]})
    )
    record = {} if value is MISSING else {"F": value}
    return criteria.matches(record)


@pytest.mark.parametrize(
    ("value", "operator", "operand", "expected"),
    [
        # text: case ignored; contains / starts / ends on the text
        ("Information Technology", "equals", "information technology", True),
        ("Information Technology", "equals", "Information", False),
        ("Information Technology", "not_equals", "INFORMATION TECHNOLOGY", False),
        ("Information Technology", "contains", "TECH", True),
        ("Information Technology", "not_contains", "tech", False),
        ("Information Technology", "starts_with", "info", True),
        ("Information Technology", "ends_with", "LOGY", True),
        ("Information Technology", "ends_with", "info", False),
        ("Straße", "equals", "STRASSE", True),  # case-folded, not just lower-cased
        ("Pune", "in", ["Delhi", "pune"], True),
        ("Pune", "in", ["Delhi", "Mumbai"], False),
        ("Mango", "between", ["apple", "zebra"], True),
        ("Mango", "greater_than", "mango", False),
        ("Mango", "greater_equal", "MANGO", True),
        # numbers: by value, whichever way the value is written
        (5, "equals", 5.0, True),
        (5.0, "equals", 5, True),
        (5, "equals", "5", True),
        (5, "equals", "5.0", True),
        (5.5, "equals", 5.5, True),
        (5.5, "equals", 5, False),
        (5, "greater_than", 4.5, True),
        (5, "greater_than", 5, False),
        (5, "greater_equal", 5, True),
        (5, "less_than", "10", True),  # 5 < 10 as numbers (as text "5" > "10")
        (5, "less_equal", 4, False),
        (5, "between", [5, 10], True),
        (10, "between", [5, 10], True),
        (10.5, "between", [5, 10], False),
        (2016, "in", [2015, 2016], True),
        (5, "starts_with", "5", True),
        (55, "contains", 5, True),
        ("12", "greater_than", 9, True),  # a number in a text field still orders as a number
        ("abc", "greater_than", 9, False),
        (True, "greater_than", 0, False),  # booleans do not order
        # booleans: true/false in any case, never 1/0
        (True, "equals", True, True),
        (True, "equals", "TRUE", True),
        (False, "equals", "false", True),
        (True, "equals", False, False),
        (True, "equals", 1, False),
        (1, "equals", True, False),
        (True, "not_equals", False, True),
        # dates and date-times: by moment; by day when either side is a date
        ("2026-10-01", "equals", "2026-10-01", True),
        ("2026-10-01", "greater_than", "2026-09-30", True),
        ("2026-10-01", "between", ["2026-10-01", "2026-10-31"], True),
        ("2026-10-31", "between", ["2026-10-01", "2026-10-31"], True),
        ("2026-11-01", "between", ["2026-10-01", "2026-10-31"], False),
        ("2026-10-01T23:30:00+05:30", "equals", "2026-10-01", True),
        ("2026-10-01T23:30:00+05:30", "greater_than", "2026-10-01", False),
        ("2026-10-01T23:30:00+05:30", "greater_equal", "2026-10-01", True),
        ("2026-10-01T10:00:00+05:30", "equals", "2026-10-01T04:30:00Z", True),
        ("2026-10-01T10:00:00+05:30", "less_than", "2026-10-01T05:00:00+00:00", True),
        ("2026-10-01T10:00:00+05:30", "starts_with", "2026-10", True),
        ("2026-10-01", "greater_than", 5, False),
        # multi-select: any item
        (["Python", "SQL"], "equals", "sql", True),
        (["Python", "SQL"], "contains", "yth", True),
        (["Python", "SQL"], "in", ["Java", "python"], True),
        (["Python", "SQL"], "not_equals", "SQL", False),
        (["Python", "SQL"], "not_equals", "Java", True),
        (["Python", "SQL"], "not_contains", "Java", True),
        ([3, 8], "greater_than", 7, True),
        # lookups: by name (or id); ordered by name
        (LOOKUP, "equals", "zylker corp", True),
        (LOOKUP, "equals", "486812000000001", True),
        (LOOKUP, "starts_with", "Zyl", True),
        (LOOKUP, "not_equals", "Globex", True),
        (LOOKUP, "greater_than", "Acme", True),
        (LOOKUP, "in", ["Globex", "Zylker Corp"], True),
    ],
)
def test_operator_on_a_typed_value(value: Any, operator: str, operand: Any, expected: bool) -> None:
    assert holds(value, operator, operand) is expected


OPERAND_FOR = {
    "equals": "x", "not_equals": "x", "contains": "x", "not_contains": "x", "starts_with": "x",
    "ends_with": "x", "greater_than": "a", "greater_equal": "a", "less_than": "z", "less_equal": "z",
    "between": ["a", "z"], "in": ["x", "y"], "is_empty": None, "is_not_empty": None,
}  # fmt: skip
MATCH_AN_EMPTY_FIELD = {"is_empty", "not_equals", "not_contains"}


@pytest.mark.parametrize("empty", EMPTIES, ids=lambda empty: "missing" if empty is MISSING else repr(empty))
@pytest.mark.parametrize("operator", [op.value for op in Operator])
def test_an_empty_field_matches_only_is_empty_not_equals_and_not_contains(empty: Any, operator: str) -> None:
    assert holds(empty, operator, OPERAND_FOR[operator]) is (operator in MATCH_AN_EMPTY_FIELD)


def test_is_not_empty_sees_any_content() -> None:
    for value in ("x", 0, False, ["", "Java"], {"name": "Zylker", "id": None}):
        assert holds(value, "is_not_empty") and not holds(value, "is_empty")


def test_a_lookups_parts_can_be_named() -> None:
    assert holds(LOOKUP, "equals", "Zylker Corp", field="F.name")
    assert not holds(LOOKUP, "equals", "486812000000001", field="F.name")
    assert holds(LOOKUP, "equals", "486812000000001", field="F.id")
    rows = [{"Degree": "BSc", "Institute": "IIT"}, {"Degree": "MSc", "Institute": "MIT"}]
    assert holds(rows, "equals", "msc", field="F.Degree")  # a list of objects: any row


def test_the_it_graduates_example_selects_it_staff_with_experience_who_graduated_in_2015_or_2016() -> None:
    selection = SelectCriteria.model_validate(
        {
            "kind": "criteria",
            "conditions": [
                {"field": "Department", "operator": "equals", "value": "Information Technology"},
                {"field": "Experience_in_Years", "operator": "greater_equal", "value": 2},
                {"field": "Graduation_Year", "operator": "equals", "value": 2015},
                {"field": "Graduation_Year", "operator": "equals", "value": 2016},
            ],
            "pattern": "((1 and 2) and (3 or 4))",
        }
    )
    criteria = compile_criteria(selection)
    base = {"Department": "information technology", "Experience_in_Years": 2, "Graduation_Year": 2016}
    assert criteria.matches(base)
    assert criteria.matches({**base, "Graduation_Year": 2015.0})
    assert not criteria.matches({**base, "Graduation_Year": 2017})
    assert not criteria.matches({**base, "Experience_in_Years": 1})
    assert not criteria.matches({**base, "Department": "Sales"})
    assert not criteria.matches({k: v for k, v in base.items() if k != "Graduation_Year"})


def test_the_fields_criteria_read_are_those_of_their_records_they_can_match_on() -> None:
    """``fields``: what the fetcher reads of each record (the others are not parsed); a record cut down
    to them matches exactly as the whole record does."""
    conditions = [
        {"field": "City", "operator": "equals", "value": "Pune"},
        {"field": "Owner.name", "operator": "starts_with", "value": "Zyl"},
        {"field": "$converted", "operator": "equals", "value": False},
    ]
    criteria = compile_criteria(SelectCriteria.model_validate({"kind": "criteria", "conditions": conditions}))
    assert criteria.fields == {"City", "Owner", "Owner.name", "$converted"}
    record = {"id": "1", "City": "Pune", "Owner": LOOKUP, "$converted": False, "Phone": "1", "Skills": ["x"]}
    cut = {name: value for name, value in record.items() if name in criteria.fields}
    assert criteria.matches(record) and criteria.matches(cut)
    assert not criteria.matches({**cut, "Owner": {"name": "Other"}})
