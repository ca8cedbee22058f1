"""Selection through the CLI on the real stack: criteria (by search or by listing), custom views, modules.

Data: ``data/selection.json`` (ten candidates built around SPEC's IT graduates example, contacts with
a client lookup, clients, job openings spelled ``Job_Openings``, a custom module labelled Referrals,
and a custom view). Which endpoint a run used is read from the simulator's ``/_sim/stats``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path(__file__).parent / "data" / "selection.json"
IT = "Information Technology"
IT_GRADUATES = {
    "kind": "criteria",
    "conditions": [
        {"field": "Department", "operator": "equals", "value": IT},
        {"field": "Experience_in_Years", "operator": "greater_equal", "value": 2},
        {"field": "Graduation_Year", "operator": "equals", "value": 2015},
        {"field": "Graduation_Year", "operator": "equals", "value": 2016},
    ],
    "pattern": "((1 and 2) and (3 or 4))",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("selection"), sim_data=str(DATA)) as running:
        running.add_connection()
        yield running


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def run_selection(
    stack: Stack, selection: dict[str, Any], module: str = "Candidates", **extra: Any
) -> tuple[dict[str, Any], set[str], dict[str, int]]:
    """Create a sync, run it; (summary, member emails, calls per path during the run)."""
    list_name = unique("Selection list")
    spec = {
        "name": unique("Selection"), "connection": "acme-recruit", "module": module, "selection": selection,
        "list": list_name, **extra,
    }  # fmt: skip
    sync_id = stack.create_sync(spec)
    before = stack.sim("GET", "/_sim/stats")["by_path"]
    summary = stack.run_sync(sync_id)
    after = stack.sim("GET", "/_sim/stats")["by_path"]
    assert summary["state"] == "succeeded", (summary, stack.logs()[-4000:])
    calls = {path: after[path] - before.get(path, 0) for path in after if after[path] != before.get(path, 0)}
    members = {m["email"] for m in stack.json("list", "members", list_name)}
    return summary, members, calls


def test_the_it_graduates_pattern_selects_exactly_the_expected_candidates(stack: Stack) -> None:
    summary, members, calls = run_selection(stack, IT_GRADUATES)
    assert members == {
        "asha.rao@example.org",  # IT, 5 years, 2015
        "bilal.khan@example.org",  # department in another case
        "ivan.petrov@example.org",  # years as text "6", year as 2016.0
        "jia.lin@example.org",  # year as text "2015"
    }
    assert (summary["total"], summary["new"]) == (4, 4)
    # greater_equal is beyond Recruit's search: the module is listed (one page) and filtered
    assert calls.get("/recruit/v2/Candidates") == 1 and "/recruit/v2/Candidates/search" not in calls


def test_search_and_listing_select_the_same_records(stack: Stack) -> None:
    conditions = [
        {"field": "Department", "operator": "equals", "value": IT},
        {"field": "Graduation_Year", "operator": "in", "value": [2015, 2016]},
    ]
    searched, by_search, search_calls = run_selection(stack, {"kind": "criteria", "conditions": conditions})
    # the same selection plus a condition it implies, which search cannot express
    implied = {"field": "Department", "operator": "is_not_empty"}
    listed, by_list, list_calls = run_selection(
        stack, {"kind": "criteria", "conditions": [*conditions, implied]}
    )

    assert by_search == by_list == {
        "asha.rao@example.org", "bilal.khan@example.org", "chen.wei@example.org", "ivan.petrov@example.org",
        "jia.lin@example.org",
    }  # fmt: skip
    assert search_calls["/recruit/v2/Candidates/search"] == 1 and "/recruit/v2/Candidates" not in search_calls
    assert list_calls["/recruit/v2/Candidates"] == 1 and "/recruit/v2/Candidates/search" not in list_calls
    for calls, summary in ((search_calls, searched), (list_calls, listed)):
        # one data call and one deleted-records pass (the module list may come from the fetcher's cache)
        assert calls["/recruit/v2/Candidates/deleted"] == 1
        assert set(calls) <= {
            "/recruit/v2/Candidates", "/recruit/v2/Candidates/search", "/recruit/v2/Candidates/deleted",
            "/recruit/v2/settings/modules",
        }  # fmt: skip
        assert summary["api_calls"] == sum(calls.values())


def test_criteria_records_arrive_with_their_custom_fields(stack: Stack) -> None:
    sales = {"field": "Department", "operator": "equals", "value": "Sales"}
    list_name = unique("Badges")
    spec = {
        "name": unique("Badges"), "connection": "acme-recruit", "module": "Candidates", "list": list_name,
        "selection": {"kind": "criteria", "conditions": [sales]},
        "mapping": [{"from": "Custom_Badge", "to": "badge"}],
    }  # fmt: skip
    assert stack.run_sync(stack.create_sync(spec))["state"] == "succeeded"
    members = stack.json("list", "members", list_name)
    assert [(m["email"], m["badge"]) for m in members] == [("emeka.obi@example.org", "badge-5")]


def test_a_candidates_job_opening_is_named_in_criteria(stack: Stack) -> None:
    condition = {"field": "Job_Opening", "operator": "starts_with", "value": "qa"}
    _, members, calls = run_selection(stack, {"kind": "criteria", "conditions": [condition]})
    assert members == {"asha.rao@example.org", "goran.ilic@example.org"}
    assert calls["/recruit/v2/Candidates/search"] == 1


def test_a_custom_view_selects_its_records(stack: Stack) -> None:
    _, members, calls = run_selection(stack, {"kind": "custom_view", "cvid": "5101"})
    assert members == {"asha.rao@example.org", "emeka.obi@example.org", "hana.sato@example.org"}
    assert calls["/recruit/v2/Candidates"] == 1


@pytest.mark.parametrize(
    ("module", "selection", "path", "expected"),
    [
        (
            "Contacts",
            {
                "kind": "criteria",
                "conditions": [{"field": "Client_Name", "operator": "equals", "value": "zylker"}],
            },
            "/recruit/v2/Contacts/search",
            {"kofi@zylker.example", "mia@zylker.example"},
        ),
        (
            "Clients",
            {
                "kind": "criteria",
                "conditions": [{"field": "Industry", "operator": "equals", "value": "software"}],
            },
            "/recruit/v2/Clients/search",
            {"yara@zylker-partners.example"},
        ),
        (
            "JobOpenings",
            {"kind": "all"},
            "/recruit/v2/Job_Openings",
            {"priya.hiring@zylker.example", "quinn.hiring@globex.example"},
        ),
        (
            "Referrals",
            {
                "kind": "criteria",
                "conditions": [{"field": "Referral_Tier", "operator": "in", "value": ["gold"]}],
            },
            "/recruit/v2/CustomModule1/search",
            {"rosa@referrer.example"},
        ),
    ],
)
def test_every_kind_of_module_syncs(
    stack: Stack, module: str, selection: dict[str, Any], path: str, expected: set[str]
) -> None:
    _, members, calls = run_selection(stack, selection, module=module)
    assert members == expected
    assert calls[path] == 1


def create_refused(stack: Stack, selection: dict[str, Any]) -> str:
    """``sync create`` with ``selection``: must fail with one line on stderr, which is returned."""
    spec = {
        "name": unique("Refused"),
        "connection": "acme-recruit",
        "list": "Refused",
        "selection": selection,
    }
    path = stack.workdir / f"refused-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(spec))
    result = stack.run("sync", "create", "--file", str(path), check=False)
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("((1 and 2) or 5)", "selection.pattern: condition 5 does not exist (at position 14)"),
        ("(1 and 2", "selection.pattern: unbalanced parenthesis at position 0"),
        ("1 or 2 xor 1", "selection.pattern: unknown word 'xor' at position 7"),
        ("1 and 2 or 2", "selection.pattern: condition 2 is used twice"),
    ],
)
def test_sync_create_refuses_a_bad_pattern_naming_key_and_position(
    stack: Stack, pattern: str, message: str
) -> None:
    conditions = IT_GRADUATES["conditions"][:2]
    assert message in create_refused(
        stack, {"kind": "criteria", "conditions": conditions, "pattern": pattern}
    )


def test_sync_create_refuses_an_unknown_operator_naming_key_and_position(stack: Stack) -> None:
    conditions = [
        {"field": "Department", "operator": "equals", "value": IT},
        {"field": "City", "operator": "near", "value": "Pune"},
    ]
    line = create_refused(stack, {"kind": "criteria", "conditions": conditions})
    assert "selection.conditions.1.operator: 'near' is not an operator" in line and "equals" in line


def test_sync_edit_refuses_a_bad_pattern_and_keeps_the_sync(stack: Stack) -> None:
    name = unique("Editable")
    sync_id = stack.create_sync(
        {
            "name": name,
            "connection": "acme-recruit",
            "list": unique("Editable list"),
            "selection": IT_GRADUATES,
        }
    )
    patch = stack.workdir / f"patch-{uuid.uuid4().hex[:6]}.json"
    patch.write_text(json.dumps({"selection": {**IT_GRADUATES, "pattern": "(1 and 2) and 3"}}))
    result = stack.run("sync", "edit", sync_id, "--file", str(patch), check=False)
    assert result.returncode != 0
    assert "selection.pattern: condition 4 is not used" in result.stderr.strip().splitlines()[0]
    assert stack.json("sync", "show", sync_id)["spec"]["selection"]["pattern"] == IT_GRADUATES["pattern"]
