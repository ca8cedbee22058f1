"""Which module a sync means, in the words of this Recruit account (SPEC section 2.1).

Accounts spell some modules differently (``Job_Openings`` in some, ``JobOpenings`` in others), so a spec's
module name is matched against ``GET settings/modules``: an exact ``api_name`` first, then ignoring case,
spaces and underscores against the API name and the labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_NAME_KEYS = ("api_name", "plural_label", "singular_label", "module_name")


class UnknownModule(ValueError):
    """The account has no module by that name (or Recruit's API cannot read it)."""


def _loose(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in " _")


def resolve_module(requested: str, modules: Iterable[Mapping[str, Any]]) -> str:
    """The account's ``api_name`` for ``requested``; ``UnknownModule`` names it and the known ones."""
    known = [m for m in modules if isinstance(m.get("api_name"), str) and m["api_name"]]
    match = next((m for m in known if m["api_name"] == requested), None)
    if match is None:
        wanted = _loose(requested)
        match = next(
            (m for m in known if any(_loose(str(m.get(k) or "")) == wanted for k in _NAME_KEYS)), None
        )
    if match is None:
        names = ", ".join(sorted(str(m["api_name"]) for m in known)) or "none"
        raise UnknownModule(f"module {requested!r} is not in this Recruit account (known modules: {names})")
    if match.get("api_supported") is False:
        raise UnknownModule(f"module {match['api_name']!r} cannot be read through Recruit's API")
    return str(match["api_name"])
