"""Resolving a spec's module name against the account's ``settings/modules``."""

from __future__ import annotations

import pytest

from recruit_sync.fetcher.modules import UnknownModule, resolve_module

ACCOUNT = [
    {"api_name": "Candidates", "plural_label": "Candidates", "singular_label": "Candidate"},
    {"api_name": "Clients", "plural_label": "Clients"},
    {"api_name": "JobOpenings", "plural_label": "Job Openings", "singular_label": "Job Opening"},
    {"api_name": "Interviews", "plural_label": "Interviews", "api_supported": False},
    {"api_name": "CustomModule1", "plural_label": "Referrals"},
]


@pytest.mark.parametrize(
    ("requested", "api_name"),
    [
        ("Candidates", "Candidates"),
        ("candidates", "Candidates"),
        ("Job_Openings", "JobOpenings"),
        ("JobOpenings", "JobOpenings"),
        ("Job Openings", "JobOpenings"),
        ("job_opening", "JobOpenings"),
        ("Referrals", "CustomModule1"),
        ("CustomModule1", "CustomModule1"),
    ],
)
def test_spellings_resolve_to_the_accounts_api_name(requested: str, api_name: str) -> None:
    assert resolve_module(requested, ACCOUNT) == api_name


def test_an_exact_api_name_wins_over_a_label() -> None:
    modules = [{"api_name": "Leads", "plural_label": "Contacts"}, {"api_name": "Contacts"}]
    assert resolve_module("Contacts", modules) == "Contacts"


def test_unknown_module_names_it_and_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModule) as caught:
        resolve_module("Contacts", ACCOUNT)
    assert str(caught.value) == (
        "module 'Contacts' is not in this Recruit account "
        "(known modules: Candidates, Clients, CustomModule1, Interviews, JobOpenings)"
    )


def test_a_module_the_api_cannot_read_is_refused() -> None:
    with pytest.raises(UnknownModule, match="'Interviews' cannot be read through Recruit's API"):
        resolve_module("Interviews", ACCOUNT)
