"""Checks and changes to a sync spec that need the clock or saved favourites (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from recruit_sync.contracts.sync_spec import (
    OnRecruitDelete,
    Options,
    SyncSpec,
    SyncSpecPatch,
    describe_validation_error,
)
from recruit_sync.criteria import CriteriaError, check_selection


class SpecError(ValueError):
    """A spec the scheduler refuses; the message names the key and the problem."""


def validate_spec(data: Any) -> SyncSpec:
    """The spec, or SpecError naming the key: its shape, then its criteria's pattern and values."""
    try:
        spec = SyncSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(describe_validation_error(exc)) from None
    check_criteria(spec)
    return spec


def check_criteria(spec: SyncSpec) -> None:
    """SpecError naming the key when the selection's criteria cannot be used (a pattern that leaves a
    condition out, a value the operator cannot take): the model checks shapes, not these."""
    try:
        check_selection(spec.selection)
    except CriteriaError as exc:
        raise SpecError(str(exc)) from None


def check_retrieval_age(spec: SyncSpec, created_at: datetime, max_age_days: int) -> None:
    """SPEC 2.7: ``retrieval.after`` may not be earlier than ``max_age_days`` before the sync's creation."""
    after = spec.retrieval.after
    if after is not None and after < created_at - timedelta(days=max_age_days):
        raise SpecError(
            f"retrieval.after: {after.isoformat()} is more than {max_age_days} days before the sync's "
            f"creation ({created_at.date().isoformat()}); choose a later date or retrieval kind 'all'"
        )


SavedMappings = Mapping[str, list[dict[str, str]]]


def load_favourite(spec_data: dict[str, Any], favourites: SavedMappings) -> dict[str, Any]:
    """Spec data with ``favourite``'s saved mapping loaded; the spec's own entries win per target field.

    The mapping is copied, so later changes to the favourite do not reach this sync.
    """
    name = spec_data.get("favourite")
    if name is None:
        return spec_data
    if name not in favourites:
        raise SpecError(f"favourite: no saved mapping named {name!r}")
    own = spec_data.get("mapping") or []
    own_targets = {entry.get("to") for entry in own if isinstance(entry, dict)}
    loaded = [entry for entry in favourites[name] if entry["to"] not in own_targets]
    return {**spec_data, "mapping": loaded + list(own)}


def apply_patch(current: SyncSpec, patch: SyncSpecPatch) -> dict[str, Any]:
    """The spec data after ``patch`` (unvalidated: the caller loads favourites and validates)."""
    data = dump_spec(current)
    changes = patch.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)
    if "favourite" in changes and "mapping" not in changes:
        data["mapping"] = []  # loading a favourite replaces the mapping unless the patch gives one too
    data.update(changes)
    return data


def dump_spec(spec: SyncSpec) -> dict[str, Any]:
    """The spec as in the file (``mapping`` entries keyed ``from``/``to``), defaults filled."""
    return spec.model_dump(mode="json", by_alias=True)


def option_states(options: Options) -> dict[str, bool]:
    """Which options are on: ``on_recruit_delete`` counts as on unless it is ``keep``."""
    return {
        "exclude_opt_out": options.exclude_opt_out,
        "on_recruit_delete": options.on_recruit_delete is not OnRecruitDelete.KEEP,
        "exclude_converted": options.exclude_converted,
    }


def options_enabled_at(
    previous: Options | None, current: Options, enabled_at: Mapping[str, datetime], now: datetime
) -> dict[str, datetime]:
    """When each enabled option took effect (SPEC 2.5: options apply from the moment they are enabled).

    An option that is newly on, or whose ``on_recruit_delete`` action changed, takes effect ``now``;
    an option turned off is forgotten, so turning it on again starts afresh.
    """
    before = option_states(previous) if previous is not None else {}
    result: dict[str, datetime] = {}
    for option, on in option_states(current).items():
        if not on:
            continue
        changed = (
            previous is None
            or not before[option]
            or (option == "on_recruit_delete" and previous.on_recruit_delete != current.on_recruit_delete)
        )
        result[option] = now if changed or option not in enabled_at else enabled_at[option]
    return result


def needs_full_window(current: SyncSpec, new: SyncSpec) -> bool:
    """Whether an edit makes records that have not changed in Recruit matter again.

    Then the next run reads the whole retrieval window instead of what changed since the last run: a
    new selection or window may match untouched records; `exclude_converted` turned on must find
    candidates converted earlier; a new mapping must fill its fields for every contact.
    """
    return (
        new.selection != current.selection
        or new.retrieval != current.retrieval
        or (new.options.exclude_converted and not current.options.exclude_converted)
        or new.full_mapping() != current.full_mapping()
    )
