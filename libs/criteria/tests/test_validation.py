"""compile_criteria refuses criteria that cannot be used, naming the key and the problem."""

from __future__ import annotations

from typing import Any

import pytest

from recruit_sync.contracts.sync_spec import SelectAll, SelectCriteria, SelectCustomView
from recruit_sync.criteria import CriteriaError, check_selection, compile_criteria


def selection(*conditions: dict[str, Any], pattern: str | None = None) -> SelectCriteria:
    return SelectCriteria.model_validate(
        {"kind": "criteria", "conditions": list(conditions), "pattern": pattern}
    )


CITY = {"field": "City", "operator": "equals", "value": "Pune"}


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "City", "operator": "equals", "value": "  "}, "selection.conditions.1.value: is empty; "),
        ({"field": "N", "operator": "in", "value": ["a", ""]}, "selection.conditions.1.value: is empty"),
        ({"field": "F", "operator": "contains", "value": True}, "operator 'contains' compares text"),
        (
            {"field": "F", "operator": "greater_than", "value": False},
            "operator 'greater_than' takes a number",
        ),
        ({"field": "T", "operator": "equals", "value": "2026-10-01T10:00:00"}, "without a UTC offset"),
        ({"field": "D", "operator": "less_than", "value": "2026-02-30"}, "'2026-02-30' is not a valid date"),
        (
            {"field": "N", "operator": "between", "value": [10, 5]},
            "'between' takes [low, high], but 10 is above 5",
        ),
        ({"field": "D", "operator": "between", "value": ["2026-12-01", "2026-01-01"]}, "is above"),
        ({"field": "N", "operator": "between", "value": [1, "2026-01-01"]}, "got a number and a date"),
    ],
)
def test_values_that_cannot_be_compared_are_refused(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(CriteriaError) as caught:
        compile_criteria(selection(CITY, condition))
    assert message in str(caught.value)
    assert str(caught.value).startswith("selection.conditions.1.value: ")


def test_pattern_errors_are_keyed_selection_pattern() -> None:
    with pytest.raises(
        CriteriaError, match=r"^selection\.pattern: condition 3 does not exist \(at position 6\)"
    ):
        compile_criteria(selection(CITY, CITY, pattern="1 and 3"))
    with pytest.raises(CriteriaError, match=r"^selection\.pattern: condition 2 is not used$"):
        compile_criteria(selection(CITY, CITY, pattern="(1)"))


def test_good_criteria_compile_and_other_selections_pass() -> None:
    criteria = compile_criteria(
        selection(
            CITY,
            {
                "field": "Created_Time",
                "operator": "between",
                "value": ["2026-10-01", "2026-10-01T12:00:00+05:30"],
            },
            {"field": "Experience_in_Years", "operator": "between", "value": ["2", 10]},
            {"field": "Skill_Set", "operator": "is_empty"},
            pattern="1 or (2 and 3) or 4",
        )
    )
    assert [check.number for check in criteria.checks] == [1, 2, 3, 4]
    check_selection(SelectAll())
    check_selection(SelectCustomView(kind="custom_view", cvid="5001"))
    with pytest.raises(CriteriaError):
        check_selection(selection(CITY, pattern="2"))
