"""The planner: which criteria go to Recruit's search, and the criteria text it sends."""

from __future__ import annotations

from typing import Any

import pytest

from recruit_sync.contracts.sync_spec import SelectCriteria
from recruit_sync.criteria import ListPlan, SearchPlan, compile_criteria, plan_fetch
from recruit_sync.criteria.search import escape_value
from recruit_sync.sim.criteria import parse_criteria


def plan(*conditions: tuple[str, str, Any], pattern: str | None = None) -> SearchPlan | ListPlan:
    data = [{"field": f, "operator": o, "value": v} for f, o, v in conditions]
    selection = SelectCriteria.model_validate({"kind": "criteria", "conditions": data, "pattern": pattern})
    return plan_fetch(compile_criteria(selection))


def test_equals_and_starts_with_go_to_search_in_the_patterns_shape() -> None:
    result = plan(
        ("Last_Name", "equals", "Burns"),
        ("First_Name", "starts_with", "M"),
        ("City", "equals", "Pune"),
        pattern="1 and (2 or 3)",
    )
    assert result == SearchPlan(
        "((Last_Name:equals:Burns)and((First_Name:starts_with:M)or(City:equals:Pune)))", conditions=3
    )


def test_the_default_pattern_is_one_flat_and() -> None:
    result = plan(("A", "equals", "x"), ("B", "equals", "y"), ("C", "starts_with", "z"))
    assert result == SearchPlan("((A:equals:x)and(B:equals:y)and(C:starts_with:z))", conditions=3)
    assert plan(("A", "equals", "x")) == SearchPlan("(A:equals:x)", conditions=1)


def test_in_is_an_or_of_equals() -> None:
    result = plan(("City", "in", ["Pune", "Delhi"]), ("Stage", "equals", "New"))
    assert result == SearchPlan(
        "(((City:equals:Pune)or(City:equals:Delhi))and(Stage:equals:New))", conditions=3
    )


def test_values_are_escaped_and_typed_values_sent_canonically() -> None:
    result = plan(
        ("Employer", "equals", "Burns,B (Ltd)"),
        ("Years", "equals", 5.0),
        ("Rate", "equals", 5.5),
        ("Opt", "equals", True),
    )
    assert isinstance(result, SearchPlan)
    assert result.criteria == (
        r"((Employer:equals:Burns\,B \(Ltd\))and(Years:equals:5)and(Rate:equals:5.5)and(Opt:equals:true))"
    )
    assert escape_value("Burns,B") == r"Burns\,B"
    # what Recruit (the simulator) reads back is the original value
    parsed = parse_criteria(result.criteria)
    assert parsed.matches({"Employer": "burns,b (ltd)", "Years": 5, "Rate": 5.5, "Opt": True})


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        (("Years", "greater_equal", 2), "condition 2 uses 'greater_equal'"),
        (("City", "not_equals", "Pune"), "condition 2 uses 'not_equals'"),
        (("City", "contains", "un"), "condition 2 uses 'contains'"),
        (("City", "is_empty", None), "condition 2 uses 'is_empty'"),
        (("Joined", "equals", "2026-10-01"), "is a date"),
        (("Joined", "equals", "2026-10-01T10:00:00+05:30"), "is a date"),
        (("Years", "equals", "5.0"), "spells a number another way"),
        (("Years", "equals", "05"), "spells a number another way"),
        (("City", "equals", " Pune"), "surrounding spaces"),
        (("Path", "starts_with", "C:\\"), "backslash"),
        (("Client_Name.name", "equals", "Zylker"), "is not searchable"),
        (("$converted", "equals", True), "is not searchable"),
    ],
)
def test_what_search_could_select_differently_is_listed_and_filtered(
    condition: tuple[str, str, Any], reason: str
) -> None:
    result = plan(("Stage", "equals", "New"), condition)
    assert isinstance(result, ListPlan)
    assert reason in result.reason


def test_starts_with_a_date_prefix_is_text_either_way() -> None:
    assert isinstance(plan(("Joined", "starts_with", "2026-10")), SearchPlan)
    assert isinstance(plan(("Joined", "starts_with", "2026-10-01")), SearchPlan)


def test_more_than_ten_search_conditions_are_listed() -> None:
    ten = [(f"F{n}", "equals", "x") for n in range(10)]
    assert isinstance(plan(*ten), SearchPlan)
    result = plan(*ten[:9], ("City", "in", ["Pune", "Delhi"]))
    assert result == ListPlan("11 search conditions; Recruit's search takes at most 10")
