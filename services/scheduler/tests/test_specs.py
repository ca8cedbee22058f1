"""Spec checks that need the clock or favourites, option timestamps, run windows (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recruit_sync.contracts.events import ConnectionSnapshot, Trigger
from recruit_sync.contracts.sync_spec import Options, SyncSpec, SyncSpecPatch
from recruit_sync.scheduler.due import OVERLAP, SyncSnapshot, build_sync_due, retrieval_window
from recruit_sync.scheduler.specs import (
    SpecError,
    apply_patch,
    check_criteria,
    check_retrieval_age,
    dump_spec,
    load_favourite,
    needs_full_window,
    options_enabled_at,
    validate_spec,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BASE = {"name": "IT", "connection": "acme", "list": "IT talent"}


def spec(**extra: object) -> SyncSpec:
    return validate_spec({**BASE, **extra})


def after(days: float) -> dict[str, str]:
    return {"kind": "after", "after": (NOW - timedelta(days=days)).isoformat()}


# retrieval age -------------------------------------------------------------------------------------------


def test_retrieval_within_the_age_limit_is_accepted() -> None:
    check_retrieval_age(spec(retrieval=after(29.9)), NOW, 30)
    check_retrieval_age(spec(retrieval=after(30)), NOW, 30)  # exactly 30 days is still allowed
    check_retrieval_age(spec(), NOW, 30)  # retrieval all


def test_retrieval_older_than_the_limit_is_refused_with_a_clear_error() -> None:
    with pytest.raises(
        SpecError, match=r"^retrieval.after: .* is more than 30 days before the sync's creation"
    ):
        check_retrieval_age(spec(retrieval=after(30.01)), NOW, 30)


def test_retrieval_age_limit_is_configurable() -> None:
    with pytest.raises(SpecError, match="more than 7 days"):
        check_retrieval_age(spec(retrieval=after(8)), NOW, 7)


def test_retrieval_age_compares_instants_across_offsets() -> None:
    """30 days before 12:00 UTC is 17:30 IST: 17:29 IST is too old, 17:30 IST is fine."""
    check_retrieval_age(spec(retrieval={"kind": "after", "after": "2026-10-21T17:30:00+05:30"}), NOW, 30)
    with pytest.raises(SpecError):
        check_retrieval_age(spec(retrieval={"kind": "after", "after": "2026-10-21T17:29:00+05:30"}), NOW, 30)


# criteria ------------------------------------------------------------------------------------------------

UNUSED_CONDITION = {
    "kind": "criteria",
    "conditions": [
        {"field": "City", "operator": "equals", "value": "Pune"},
        {"field": "State", "operator": "equals", "value": "MH"},
    ],
    "pattern": "( 1 )",
}


def test_criteria_the_model_accepts_may_still_be_refused_naming_the_key() -> None:
    shaped = SyncSpec.model_validate({**BASE, "selection": UNUSED_CONDITION})  # the shape is fine
    with pytest.raises(SpecError, match=r"^selection.pattern: condition 2 is not used$"):
        check_criteria(shaped)
    with pytest.raises(SpecError, match=r"^selection.pattern: condition 2 is not used$"):
        validate_spec({**BASE, "selection": UNUSED_CONDITION})
    check_criteria(spec(selection={**UNUSED_CONDITION, "pattern": "(1 or 2)"}))


# favourites ----------------------------------------------------------------------------------------------

FAVOURITES = {
    "recruiting": [{"from": "Current_Employer", "to": "company"}, {"from": "Skill_Set", "to": "skills"}],
}


def test_favourite_loads_its_mapping() -> None:
    loaded = validate_spec(load_favourite({**BASE, "favourite": "recruiting"}, FAVOURITES))
    assert [(m.from_, m.to) for m in loaded.mapping] == [
        ("Current_Employer", "company"),
        ("Skill_Set", "skills"),
    ]
    assert loaded.favourite == "recruiting"


def test_the_specs_own_mapping_wins_over_the_favourite_per_target() -> None:
    data = {**BASE, "favourite": "recruiting", "mapping": [{"from": "Employer_Name", "to": "company"}]}
    loaded = validate_spec(load_favourite(data, FAVOURITES))
    assert {m.to: m.from_ for m in loaded.mapping} == {"company": "Employer_Name", "skills": "Skill_Set"}


def test_unknown_favourite_is_refused_naming_it() -> None:
    with pytest.raises(SpecError, match="favourite: no saved mapping named 'nope'"):
        load_favourite({**BASE, "favourite": "nope"}, FAVOURITES)


def test_no_favourite_leaves_the_spec_alone() -> None:
    data = {**BASE, "mapping": [{"from": "Skill_Set", "to": "skills"}]}
    assert load_favourite(data, FAVOURITES) is data


# patches and options -------------------------------------------------------------------------------------


def test_patch_changes_only_what_it_names() -> None:
    current = spec(mapping=[{"from": "Skill_Set", "to": "skills"}])
    patch = SyncSpecPatch.model_validate({"options": {"exclude_opt_out": True}})
    new = validate_spec(apply_patch(current, patch))
    assert new.options.exclude_opt_out is True
    assert new.mapping == current.mapping and new.schedule == current.schedule


def test_patch_loading_a_favourite_replaces_the_mapping() -> None:
    current = spec(mapping=[{"from": "Skill_Set", "to": "skills"}, {"from": "City", "to": "city"}])
    data = apply_patch(current, SyncSpecPatch.model_validate({"favourite": "recruiting"}))
    new = validate_spec(load_favourite(data, FAVOURITES))
    assert sorted(m.to for m in new.mapping) == ["company", "skills"]


def test_dump_spec_is_the_file_shape_with_defaults() -> None:
    dumped = dump_spec(spec(mapping=[{"from": "Skill_Set", "to": "skills"}]))
    assert dumped["mapping"] == [{"from": "Skill_Set", "to": "skills"}]
    assert dumped["selection"] == {"kind": "all"}
    assert dumped["schedule"]["kind"] == "once"
    assert validate_spec(dumped) == spec(mapping=[{"from": "Skill_Set", "to": "skills"}])


def test_options_on_at_creation_take_effect_then() -> None:
    options = Options(exclude_opt_out=True)
    assert options_enabled_at(None, options, {}, NOW) == {"exclude_opt_out": NOW}


def test_newly_enabled_option_takes_effect_now_and_earlier_ones_keep_their_time() -> None:
    earlier = NOW - timedelta(days=3)
    before = Options(exclude_opt_out=True)
    after_ = Options(exclude_opt_out=True, on_recruit_delete="remove_from_list")
    result = options_enabled_at(before, after_, {"exclude_opt_out": earlier}, NOW)
    assert result == {"exclude_opt_out": earlier, "on_recruit_delete": NOW}


def test_changing_the_delete_action_restarts_its_clock_and_turning_off_forgets() -> None:
    earlier = NOW - timedelta(days=3)
    before = Options(exclude_opt_out=True, on_recruit_delete="remove_from_list")
    after_ = Options(on_recruit_delete="remove_from_org")
    enabled = {"exclude_opt_out": earlier, "on_recruit_delete": earlier}
    assert options_enabled_at(before, after_, enabled, NOW) == {"on_recruit_delete": NOW}


# windows and the snapshot --------------------------------------------------------------------------------


def test_first_run_uses_the_retrieval_setting() -> None:
    window = retrieval_window(spec(retrieval=after(5)), None, full=False)
    assert window.since == NOW - timedelta(days=5) == window.deleted_since
    assert window.kind == "full"
    assert retrieval_window(spec(), None, full=False).since is None


def test_later_runs_are_incremental_with_overlap() -> None:
    started = NOW - timedelta(hours=1)
    window = retrieval_window(spec(retrieval=after(5)), started, full=False)
    assert window.since == window.deleted_since == started - OVERLAP == started - timedelta(minutes=5)
    assert window.kind == "incremental"


def test_full_resync_asks_for_everything() -> None:
    window = retrieval_window(spec(retrieval=after(5)), NOW, full=True)
    assert (window.since, window.deleted_since, window.kind) == (None, None, "full")


def test_sync_due_carries_the_full_mapping_and_settings() -> None:
    s = spec(mapping=[{"from": "Skill_Set", "to": "skills"}], options={"exclude_opt_out": True})
    connection = ConnectionSnapshot(
        connection_id="c1",
        name="acme",
        base_url="https://recruit.zoho.com",
        accounts_url="https://accounts.zoho.com",
        client_id="cid",
        client_secret_enc="x",
        refresh_token_enc="y",
    )
    snapshot = SyncSnapshot("s1", s, 3, {"exclude_opt_out": NOW}, connection)
    event = build_sync_due(
        snapshot,
        run_id="r1",
        trigger=Trigger.MANUAL,
        due_at=NOW,
        window=retrieval_window(s, None, full=False),
        batch_size=500,
    )
    assert [m.to for m in event.settings.mapping] == ["email", "first_name", "last_name", "skills"]
    assert event.settings.list_name == "IT talent" and event.settings.settings_version == 3
    assert event.settings.options_enabled_at == {"exclude_opt_out": NOW}
    assert event.correlation_id == "r1" and event.batch_size == 500
    # a redelivered or re-emitted run produces the same event id
    again = build_sync_due(
        snapshot,
        run_id="r1",
        trigger=Trigger.MANUAL,
        due_at=NOW,
        window=retrieval_window(s, None, full=False),
        batch_size=500,
    )
    assert again.event_id == event.event_id


def _spec(**extra: Any) -> SyncSpec:
    return SyncSpec.model_validate({"name": "n", "connection": "c", "list": "l", **extra})


@pytest.mark.parametrize(
    ("change", "full"),
    [
        ({"options": {"exclude_converted": True}}, True),
        ({"mapping": [{"from": "City", "to": "city"}]}, True),
        ({"retrieval": {"kind": "after", "after": "2026-11-20T00:00:00+00:00"}}, True),
        ({"selection": {"kind": "custom_view", "cvid": "5001"}}, True),
        ({"options": {"exclude_opt_out": True}}, False),
        ({"options": {"on_recruit_delete": "remove_from_list"}}, False),
        ({"schedule": {"kind": "daily", "at": "09:00"}}, False),
    ],
)
def test_an_edit_reads_the_whole_window_only_when_untouched_records_matter(
    change: dict[str, Any], full: bool
) -> None:
    assert needs_full_window(_spec(), _spec(**change)) is full
    assert needs_full_window(_spec(), _spec()) is False
