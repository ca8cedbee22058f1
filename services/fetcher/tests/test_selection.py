"""fetch_run's selection: criteria by search or by list-and-filter, custom views, every kind of module.

The real client against the simulator (httpx.ASGITransport); calls are read from the simulator's
counters.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from recruit_sync.contracts.envelope import Envelope
from recruit_sync.contracts.events import FetchCompleted, FetchFailed, ImportSettings, RecordBatch
from recruit_sync.contracts.records import fields_read
from recruit_sync.contracts.sync_spec import (
    FieldMapping,
    Options,
    SelectAll,
    SelectCriteria,
    SelectCustomView,
)
from recruit_sync.criteria import CriteriaError
from recruit_sync.fetcher.fetch import fetch_run
from recruit_sync.fetcher.handlers import fetch_sync, recruit_client_factory

IT = "Information Technology"


def candidate(
    n: int, department: str | None, years: int, graduated: int | None, **extra: Any
) -> dict[str, Any]:
    record = {
        "id": str(100000 + n),
        "Email": f"c{n}@example.com",
        "First_Name": "C",
        "Last_Name": str(n),
        "Email_Opt_Out": False,
        "$converted": False,
        "Experience_in_Years": years,
        "Graduation_Year": graduated,
        "Custom_Badge": f"badge-{n}",  # a custom field: must arrive in every selection mode
        "Updated_On": "2026-10-02T10:00:00+05:30",
        **extra,
    }
    if department is not None:
        record["Department"] = department
    return record


CANDIDATES = [
    candidate(1, IT, 5, 2015),
    candidate(2, "information technology", 2, 2016),
    candidate(3, IT, 1, 2016),  # too little experience
    candidate(4, IT, 9, 2014),  # graduated another year
    candidate(5, "Sales", 7, 2015),
    candidate(6, None, 3, 2016),  # no department at all
    candidate(7, IT, 4, None),
    candidate(8, "IT (Information Technology), Pune", 3, 2015),  # the characters search escapes
    candidate(9, IT, 2, 2015, **{"$converted": True}),  # converted: fetched so exclude_converted can act
]
DOCUMENT = {
    "modules": {"Candidates": CANDIDATES},
    "custom_views": {
        "Candidates": [{"id": "5001", "display_value": "Hot", "record_ids": ["100001", "100005"]}]
    },
}


def criteria(*conditions: tuple[Any, ...], pattern: str | None = None) -> SelectCriteria:
    """Conditions as (field, operator[, value])."""
    data = [dict(zip(("field", "operator", "value"), condition, strict=False)) for condition in conditions]
    return SelectCriteria.model_validate({"kind": "criteria", "conditions": data, "pattern": pattern})


IT_GRADUATES = criteria(
    ("Department", "equals", IT),
    ("Experience_in_Years", "greater_equal", 2),
    ("Graduation_Year", "equals", 2015),
    ("Graduation_Year", "equals", 2016),
    pattern="((1 and 2) and (3 or 4))",
)


class Published(list[Envelope]):
    async def __call__(self, event: Envelope) -> None:
        self.append(event)

    def records(self) -> list[dict[str, Any]]:
        return [r for e in self if isinstance(e, RecordBatch) for r in e.records]

    def ids(self) -> list[str]:
        return [r["id"] for r in self.records()]


async def fetch(
    sim_client: Any,
    make_due: Any,
    stats_of: Any,
    selection: Any,
    document: Any = DOCUMENT,
    generate: int = 0,
    **due: Any,
) -> tuple[Published, FetchCompleted, dict[str, int]]:
    client, app = sim_client(document, generate=generate)
    published = Published()
    async with client:
        completed = await fetch_run(make_due(selection=selection, **due), client, published)
    return published, completed, (await stats_of(app))["by_path"]


async def test_the_it_graduates_criteria_select_exactly_the_expected_candidates(
    sim_client: Any, make_due: Any, stats_of: Any
) -> None:
    published, completed, calls = await fetch(sim_client, make_due, stats_of, IT_GRADUATES)
    assert published.ids() == ["100001", "100002", "100009"]
    # greater_equal is beyond Recruit's search: one list page, filtered here
    assert calls == {
        "/recruit/v2/settings/modules": 1, "/recruit/v2/Candidates": 1, "/recruit/v2/Candidates/deleted": 1,
    }  # fmt: skip
    assert (completed.record_count, completed.api_calls, completed.credits) == (3, 3, 5)


async def test_criteria_search_can_express_go_to_search_with_the_same_result_as_listing(
    sim_client: Any, make_due: Any, stats_of: Any
) -> None:
    searchable = criteria(
        ("Department", "equals", IT), ("Graduation_Year", "in", [2015, 2016]), pattern="1 and 2"
    )
    # the same selection, plus a condition it implies that search cannot express
    listed = criteria(
        ("Department", "equals", IT), ("Graduation_Year", "in", [2015, 2016]), ("Department", "is_not_empty")
    )
    by_search, searched, search_calls = await fetch(sim_client, make_due, stats_of, searchable)
    by_list, _, list_calls = await fetch(sim_client, make_due, stats_of, listed)

    assert by_search.ids() == by_list.ids() == ["100001", "100002", "100003", "100009"]
    assert search_calls["/recruit/v2/Candidates/search"] == 1 and "/recruit/v2/Candidates" not in search_calls
    assert list_calls["/recruit/v2/Candidates"] == 1 and "/recruit/v2/Candidates/search" not in list_calls
    assert (searched.api_calls, searched.credits) == (3, 5)  # modules 1 + search 3 + deleted 1


async def test_search_escapes_parentheses_and_commas(sim_client: Any, make_due: Any, stats_of: Any) -> None:
    published, _, calls = await fetch(
        sim_client,
        make_due,
        stats_of,
        criteria(("Department", "equals", "it (information technology), pune")),
    )
    assert published.ids() == ["100008"]
    assert calls["/recruit/v2/Candidates/search"] == 1


async def test_every_selection_mode_sends_the_mapped_fields_custom_ones_included(
    sim_client: Any, make_due: Any, stats_of: Any
) -> None:
    by_id = {r["id"]: r for r in CANDIDATES}
    mapping = [FieldMapping(**{"from": "Custom_Badge", "to": "badge"})]
    settings = ImportSettings(list_name="Everyone", options=Options(), mapping=mapping, settings_version=1)
    selections = [
        SelectAll(),
        SelectCustomView(kind="custom_view", cvid="5001"),
        criteria(("Department", "starts_with", "Sales")),  # search
        criteria(("Department", "ends_with", "sales")),  # list and filter
    ]
    for selection in selections:
        published, _, _ = await fetch(sim_client, make_due, stats_of, selection, settings=settings)
        assert published.records(), selection
        for record in published.records():
            original = by_id[record["id"]]
            assert record == {key: original[key] for key in fields_read(mapping) if key in original}
            assert record["Custom_Badge"] == original["Custom_Badge"]


async def test_a_large_search_pages_and_matches_listing(
    sim_client: Any, make_due: Any, stats_of: Any
) -> None:
    by_search, searched, search_calls = await fetch(
        sim_client,
        make_due,
        stats_of,
        criteria(("Email_Opt_Out", "equals", False)),
        document={},
        generate=600,
    )
    by_list, _, _ = await fetch(
        sim_client,
        make_due,
        stats_of,
        criteria(("Email_Opt_Out", "not_equals", True)),
        document={},
        generate=600,
    )
    selected = len(by_search.ids())
    assert by_search.ids() == by_list.ids()
    assert 580 < selected < 600  # about 1.5 % opted out; converted ones are fetched too
    assert search_calls["/recruit/v2/Candidates/search"] == 3  # ceil(selected / 200): no call per record
    assert searched.record_count == selected and searched.batch_count == 3


async def test_a_contacts_client_is_selected_by_its_name(
    sim_client: Any, make_due: Any, stats_of: Any
) -> None:
    contacts = [
        {"id": "1", "Email": "a@zylker.example", "Client_Name": {"name": "Zylker", "id": "7001"}},
        {"id": "2", "Email": "b@globex.example", "Client_Name": {"name": "Globex", "id": "7002"}},
        {"id": "3", "Email": "c@nowhere.example", "Client_Name": None},
        {"id": "4", "Email": "d@zylker.example", "Client_Name": {"name": "ZYLKER", "id": "7001"}},
    ]
    document = {"modules": {"Contacts": contacts}}
    for selection, path in [
        (criteria(("Client_Name", "equals", "zylker")), "/recruit/v2/Contacts/search"),
        (criteria(("Client_Name.name", "in", ["Zylker"])), "/recruit/v2/Contacts"),
    ]:
        published, _, calls = await fetch(
            sim_client, make_due, stats_of, selection, document, module="Contacts"
        )
        assert published.ids() == ["1", "4"]
        assert calls[path] == 1


async def test_a_candidates_job_opening_can_be_named(sim_client: Any, make_due: Any, stats_of: Any) -> None:
    opening = {"name": "QA Engineer", "id": "9001"}
    document = {
        "modules": {"Candidates": [candidate(1, IT, 1, None, Job_Opening=opening), candidate(2, IT, 1, None)]}
    }
    published, _, _ = await fetch(
        sim_client, make_due, stats_of, criteria(("Job_Opening", "starts_with", "qa")), document
    )
    assert published.ids() == ["100001"]


TIER_MAPPED = ImportSettings(
    list_name="Everyone",
    options=Options(),
    mapping=[FieldMapping(**{"from": "Custom_Tier", "to": "tier"})],
    settings_version=1,
)


@pytest.mark.parametrize(
    ("data_module", "spec_module", "labels"),
    [
        ("Contacts", "Contacts", {}),
        ("Clients", "Clients", {}),
        ("JobOpenings", "Job_Openings", {}),
        ("Job_Openings", "JobOpenings", {}),
        ("Job_Openings", "Job Openings", {}),
        ("CustomModule1", "CustomModule1", {"plural_label": "Referrals", "singular_label": "Referral"}),
        ("CustomModule1", "Referrals", {"plural_label": "Referrals", "singular_label": "Referral"}),
    ],
)
async def test_every_kind_of_module_is_fetched_under_the_accounts_name(
    sim_client: Any, make_due: Any, stats_of: Any, data_module: str, spec_module: str, labels: dict[str, str]
) -> None:
    records = [
        {"id": "1", "Email": "one@example.com", "Account_Name": "Zylker", "Custom_Tier": "Gold"},
        {"id": "2", "Email": "two@example.com", "Account_Name": "Globex", "Custom_Tier": "Silver"},
    ]
    document = {"modules": {data_module: records}, "module_labels": {data_module: labels} if labels else {}}
    for selection, expected in [
        (SelectAll(), ["1", "2"]),
        (criteria(("Custom_Tier", "equals", "gold")), ["1"]),
    ]:
        published, _, calls = await fetch(
            sim_client, make_due, stats_of, selection, document, module=spec_module, settings=TIER_MAPPED
        )
        assert published.ids() == expected
        assert {b.module for b in published if isinstance(b, RecordBatch)} == {data_module}
        assert published.records()[0]["Custom_Tier"] in ("Gold", "Silver")  # mapped: sent
        endpoint = f"/recruit/v2/{data_module}" + ("/search" if isinstance(selection, SelectCriteria) else "")
        assert calls[endpoint] == 1


async def test_criteria_that_cannot_be_used_fail_the_run_before_any_call(
    sim_client: Any, make_due: Any, stats_of: Any
) -> None:
    """A sync saved before its criteria were validated: the run fails naming the problem."""
    bad = criteria(("Department", "equals", IT), ("City", "equals", "Pune"), pattern="1 xor 2")
    client, app = sim_client(DOCUMENT)
    async with client:
        with pytest.raises(CriteriaError, match=r"^selection.pattern: unknown word 'xor' at position 2"):
            await fetch_run(make_due(selection=bad), client, Published())
    assert (await stats_of(app))["calls"] == 0

    connect = recruit_client_factory(timeout=5, transport=httpx.ASGITransport(app=app))
    published = Published()
    await fetch_sync(make_due(selection=bad), connect=connect, publish=published)
    [failed] = published
    assert isinstance(failed, FetchFailed) and not failed.auth_failed
    assert failed.error.startswith("selection.pattern: unknown word 'xor' at position 2")
