from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from recruit_sync.contracts.sync_spec import SyncSpec, SyncSpecPatch, describe_validation_error

INTERFACE_EXAMPLE = json.loads(
    """
{
  "name": "IT graduates 2015-16",
  "connection": "acme-recruit",
  "module": "Candidates",
  "selection": {
    "kind": "criteria",
    "conditions": [
      {"field": "Department", "operator": "equals", "value": "Information Technology"},
      {"field": "Experience_in_Years", "operator": "greater_equal", "value": 2},
      {"field": "Graduation_Year", "operator": "equals", "value": 2015},
      {"field": "Graduation_Year", "operator": "equals", "value": 2016}
    ],
    "pattern": "((1 and 2) and (3 or 4))"
  },
  "list": "IT talent",
  "options": {"exclude_opt_out": true, "on_recruit_delete": "remove_from_list", "exclude_converted": true},
  "schedule": {"kind": "weekly", "weekday": "monday", "at": "09:30", "timezone": "Asia/Kolkata"},
  "retrieval": {"kind": "all"},
  "mapping": [{"from": "Current_Employer", "to": "company"}, {"from": "Skill_Set", "to": "skills"}]
}
"""
)
MINIMAL = {"name": "n", "connection": "c", "list": "l"}


def refusal(spec: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        SyncSpec.model_validate(spec)
    return describe_validation_error(info.value)


def test_the_interface_example_is_accepted_and_round_trips() -> None:
    spec = SyncSpec.model_validate(INTERFACE_EXAMPLE)
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert SyncSpec.model_validate(dumped) == spec
    assert dumped["mapping"][0] == {"from": "Current_Employer", "to": "company"}


def test_omitted_keys_take_the_defaults() -> None:
    spec = SyncSpec.model_validate(MINIMAL)
    assert spec.selection.kind == "all"
    assert (spec.options.exclude_opt_out, spec.options.on_recruit_delete.value) == (False, "keep")
    assert spec.schedule.kind == "once" and spec.retrieval.kind == "all" and spec.module == "Candidates"
    assert [(m.from_, m.to) for m in spec.full_mapping()] == [
        ("Email", "email"),
        ("First_Name", "first_name"),
        ("Last_Name", "last_name"),
    ]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"colour": "red"}, "colour: unknown key"),
        ({"options": {"exclude_optout": True}}, "options.exclude_optout: unknown key"),
        ({"schedule": {"kind": "weekly", "at": "09:30"}}, "schedule: a weekly schedule needs 'weekday'"),
        ({"schedule": {"kind": "daily", "at": "25:00"}}, "schedule.at: '25:00' is not a local time HH:MM"),
        ({"schedule": {"kind": "daily", "at": "09:00", "timezone": "Mars/Olympus"}}, "schedule.timezone"),
        ({"selection": {"kind": "custom_view"}}, "selection.cvid: Field required"),
        ({"selection": {"kind": "everything"}}, "selection"),
        (
            {
                "selection": {
                    "kind": "criteria",
                    "conditions": [{"field": "A", "operator": "like", "value": 1}],
                }
            },
            "selection.conditions.0.operator",
        ),
        (
            {
                "selection": {
                    "kind": "criteria",
                    "conditions": [{"field": "A", "operator": "between", "value": 1}],
                }
            },
            "between",
        ),
        ({"retrieval": {"kind": "after"}}, "retrieval: retrieval 'after' needs an 'after' date-time"),
        ({"retrieval": {"kind": "after", "after": "2026-11-01T00:00:00"}}, "needs a UTC offset"),
        ({"mapping": [{"from": "Secondary_Email", "to": "email"}]}, "mapping.0: 'email' is always mapped"),
        ({"mapping": [{"from": "A", "to": "Company Name"}]}, "mapping.0.to"),
        ({"mapping": [{"from": "A", "to": "x"}, {"from": "B", "to": "x"}]}, "more than one field to x"),
        ({"module": "Contacts", "options": {"exclude_converted": True}}, "Candidates module only"),
        ({"name": "   "}, "name: must not be blank"),
        ({"options": {"on_recruit_delete": "purge"}}, "options.on_recruit_delete"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_key(patch: dict[str, Any], expected: str) -> None:
    assert expected in refusal({**MINIMAL, **patch})


def test_the_default_pattern_is_left_nested_and() -> None:
    conditions = [{"field": f"F{i}", "operator": "equals", "value": i} for i in range(1, 7)]
    spec = SyncSpec.model_validate({**MINIMAL, "selection": {"kind": "criteria", "conditions": conditions}})
    assert spec.selection.kind == "criteria"
    assert spec.selection.effective_pattern() == "( ( ( ( ( 1 and 2 ) and 3 ) and 4 ) and 5 ) and 6 )"


def test_a_user_mapping_may_replace_a_default_target() -> None:
    spec = SyncSpec.model_validate({**MINIMAL, "mapping": [{"from": "Full_Name", "to": "first_name"}]})
    assert [(m.from_, m.to) for m in spec.full_mapping()] == [
        ("Email", "email"),
        ("Last_Name", "last_name"),
        ("Full_Name", "first_name"),
    ]


def test_a_patch_refuses_unknown_keys_and_the_connection() -> None:
    with pytest.raises(ValidationError) as info:
        SyncSpecPatch.model_validate({"connection": "other"})
    assert describe_validation_error(info.value) == "connection: unknown key"


# alerts (issue 12) ----------------------------------------------------------------------------------------

INTERFACE_ALERTS = [
    {
        "kind": "webhook",
        "url": "https://hooks.example.com/recruit-sync",
        "secret": "...",
        "on": ["run_failed", "run_recovered", "ignored_above", "volume_drop", "sync_deactivated"],
        "ignored_above": 0.2,
        "volume_drop": 0.5,
    },
    {"kind": "email", "to": ["ops@example.com"], "on": ["run_failed", "run_recovered"]},
]


def test_the_interface_alerts_are_accepted_and_round_trip() -> None:
    spec = SyncSpec.model_validate({**MINIMAL, "alerts": INTERFACE_ALERTS})
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_none=True)["alerts"]
    assert dumped == INTERFACE_ALERTS  # a request carries the secret
    # ... but the answers' schema has no room for it, and a spec without one dumps no key for it
    webhook = {
        mode: SyncSpec.model_json_schema(mode=mode)["$defs"]["WebhookAlert"]
        for mode in ("validation", "serialization")
    }
    assert "secret" in webhook["validation"]["properties"]
    assert "secret" not in webhook["serialization"]["properties"]
    unset = spec.alerts[0].model_copy(update={"secret": None})
    assert "secret" not in unset.model_dump(mode="json")
    assert SyncSpec.model_validate(MINIMAL).alerts == []


def test_an_alert_without_on_takes_the_default_events_and_its_thresholds() -> None:
    spec = SyncSpec.model_validate(
        {**MINIMAL, "alerts": [{"kind": "email", "to": ["a@b.example"], "volume_drop": 0.5}]}
    )
    assert [event.value for event in spec.alerts[0].on] == [
        "run_failed",
        "run_recovered",
        "sync_deactivated",
        "volume_drop",
    ]


@pytest.mark.parametrize(
    ("alert", "expected"),
    [
        ({"kind": "sms", "to": ["x"]}, "alerts.0"),
        (
            {"kind": "webhook", "url": "ftp://x", "secret": "s"},
            "alerts.0.url: 'ftp://x' is not an http(s) URL",
        ),
        ({"kind": "webhook", "url": "https://x.example", "secret": ""}, "alerts.0.secret:"),
        ({"kind": "email", "to": ["nobody"]}, "alerts.0.to: 'nobody' is not an email address"),
        ({"kind": "email", "to": []}, "alerts.0.to:"),
        ({"kind": "email", "to": ["a@b.example"], "on": ["ignored_above"]}, "alerts.0: 'on' includes"),
        ({"kind": "email", "to": ["a@b.example"], "ignored_above": 1.5}, "alerts.0.ignored_above:"),
        ({"kind": "email", "to": ["a@b.example"], "on": ["run_failed", "run_failed"]}, "alerts.0.on:"),
        ({"kind": "email", "to": ["a@b.example"], "on": ["run_exploded"]}, "alerts.0.on.0:"),
        ({"kind": "email", "to": ["a@b.example"], "cc": ["x"]}, "alerts.0.cc: unknown key"),
    ],
)
def test_a_bad_alert_is_refused_naming_the_key(alert: dict[str, Any], expected: str) -> None:
    assert expected in refusal({**MINIMAL, "alerts": [alert]})


def test_a_patch_may_replace_the_alerts() -> None:
    patch = SyncSpecPatch.model_validate({"alerts": INTERFACE_ALERTS[1:]})
    assert patch.alerts is not None and patch.alerts[0].kind == "email"
