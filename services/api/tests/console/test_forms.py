"""The wizard's and edit page's fields become the spec file's JSON, and a saved spec fills them again."""

from __future__ import annotations

import pytest

from recruit_sync.api.console import forms
from recruit_sync.contracts.sync_spec import SyncSpec

CRITERIA_FORM = {
    "name": "IT graduates 2015-16",
    "connection": "acme-recruit",
    "module": "Candidates",
    "list": "IT talent",
    "selection.kind": "criteria",
    "selection.conditions.0.field": "Department",
    "selection.conditions.0.operator": "equals",
    "selection.conditions.0.value": " Information Technology ",
    "selection.conditions.1.field": "Graduation_Year",
    "selection.conditions.1.operator": "between",
    "selection.conditions.1.value": "2015, 2016",
    "selection.conditions.2.field": "Skill_Set",
    "selection.conditions.2.operator": "is_not_empty",
    "selection.conditions.2.value": "",
    "selection.pattern": "(1 and (2 or 3))",
    "options.exclude_opt_out": "on",
    "options.on_recruit_delete": "remove_from_list",
    "schedule.kind": "weekly",
    "schedule.weekday": "monday",
    "schedule.day": "5",  # left from an earlier choice of "monthly": not sent
    "schedule.at": "09:30",
    "schedule.timezone": "Asia/Kolkata",
    "retrieval.kind": "after",
    "retrieval.after": "2026-11-01T09:30",
    "mapping.0.from": "Current_Employer",
    "mapping.0.to": "company",
}


def test_a_criteria_form_is_the_spec_file_it_describes() -> None:
    assert forms.spec(CRITERIA_FORM) == {
        "name": "IT graduates 2015-16",
        "connection": "acme-recruit",
        "module": "Candidates",
        "selection": {
            "kind": "criteria",
            "conditions": [
                {"field": "Department", "operator": "equals", "value": "Information Technology"},
                {"field": "Graduation_Year", "operator": "between", "value": ["2015", "2016"]},
                {"field": "Skill_Set", "operator": "is_not_empty"},
            ],
            "pattern": "(1 and (2 or 3))",
        },
        "list": "IT talent",
        "options": {
            "exclude_opt_out": True,
            "exclude_converted": False,
            "on_recruit_delete": "remove_from_list",
        },
        "schedule": {"kind": "weekly", "timezone": "Asia/Kolkata", "at": "09:30", "weekday": "monday"},
        "retrieval": {"kind": "after", "after": "2026-11-01T09:30:00+05:30"},
        "mapping": [{"from": "Current_Employer", "to": "company"}],
    }
    SyncSpec.model_validate(forms.spec(CRITERIA_FORM))  # and the model takes it


def test_the_new_sync_defaults_are_a_valid_spec_once_named() -> None:
    spec = SyncSpec.model_validate(
        forms.spec({**forms.NEW_SYNC, "name": "n", "connection": "c", "list": "l"})
    )
    assert spec.selection.kind == "all" and spec.schedule.kind == "once" and spec.mapping == []


def test_an_empty_pattern_is_left_out_so_the_default_applies() -> None:
    values = {**CRITERIA_FORM, "selection.pattern": "  "}
    assert "pattern" not in forms.selection(values)


def test_a_custom_view_sends_only_its_id() -> None:
    assert forms.selection({"selection.kind": "custom_view", "selection.cvid": " 5001 ", **_row(0)}) == {
        "kind": "custom_view",
        "cvid": "5001",
    }


def test_in_takes_a_list_and_an_empty_value_stays_for_the_model_to_refuse() -> None:
    assert forms.condition_value("in", "a, b,,c ") == ["a", "b", "c"]
    assert forms.condition_value("equals", "  ") == ""
    assert forms.condition_value("is_empty", "ignored") is None


def test_a_local_time_without_a_real_zone_is_passed_on_for_the_model_to_name() -> None:
    assert forms.in_zone("2026-11-01T09:30", "Mars/Olympus") == "2026-11-01T09:30"
    assert forms.in_zone("yesterday", "UTC") == "yesterday"
    assert forms.in_zone("2026-11-01T09:30+01:00", "Asia/Kolkata") == "2026-11-01T09:30:00+01:00"


def _row(index: int, field: str = "F") -> dict[str, str]:
    return {f"selection.conditions.{index}.field": field, f"selection.conditions.{index}.operator": "equals"}


def test_adding_a_row_numbers_it_after_the_others() -> None:
    values = forms.change_rows({**_row(0, "A"), **_row(3, "B")}, "add:selection.conditions")
    assert values is not None
    assert forms.row_numbers(values, forms.CONDITIONS) == [0, 1, 2]
    assert values["selection.conditions.1.field"] == "B"
    assert values["selection.conditions.2.field"] == ""


def test_removing_a_row_renumbers_the_rest_so_messages_name_the_rows_shown() -> None:
    values = forms.change_rows(
        {**_row(0, "A"), **_row(1, "B"), **_row(2, "C")}, "remove:selection.conditions:1"
    )
    assert values == {**_row(0, "A"), **_row(1, "C")}


def test_mapping_rows_are_added_and_removed_the_same_way() -> None:
    values = forms.change_rows({"mapping.0.from": "X", "mapping.0.to": "x"}, "add:mapping")
    assert values == {"mapping.0.from": "X", "mapping.0.to": "x", "mapping.1.from": ""}
    assert forms.change_rows(values, "remove:mapping:0") == {"mapping.0.from": ""}


@pytest.mark.parametrize("action", ["create", "save", "add:name", "remove:mapping:x", "remove:mapping"])
def test_other_buttons_change_no_row(action: str) -> None:
    assert forms.change_rows({"mapping.0.from": "X"}, action) is None


def test_a_saved_spec_fills_the_form_that_gives_it_back() -> None:
    spec = SyncSpec.model_validate(forms.spec(CRITERIA_FORM))
    again = SyncSpec.model_validate(forms.spec(forms.spec_values(spec)))
    assert again == spec
    assert forms.spec_values(spec)["retrieval.after"] == "2026-11-01T09:30"  # in the sync's own zone


def test_each_part_of_the_edit_page_patches_only_itself() -> None:
    assert forms.patch("schedule", CRITERIA_FORM, "UTC") == {"schedule": forms.schedule(CRITERIA_FORM)}
    assert forms.patch("retrieval", CRITERIA_FORM, "UTC") == {
        "retrieval": {"kind": "after", "after": "2026-11-01T09:30:00+00:00"}
    }
    assert forms.patch("mapping", {"favourite": "employer"}, "UTC") == {
        "mapping": [],
        "favourite": "employer",
    }
    with pytest.raises(ValueError, match="selection"):
        forms.patch("selection", CRITERIA_FORM, "UTC")


def test_field_names_include_every_row_shown() -> None:
    names = forms.field_names(CRITERIA_FORM)
    assert {"selection.conditions.2.value", "selection.conditions.2", "mapping.0.to", "schedule"} <= names
    assert "selection.conditions.3.value" not in names
