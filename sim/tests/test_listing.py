"""GET /recruit/v2/{module}: paging, fields, converted, cvid, If-Modified-Since, sorting, errors."""

from __future__ import annotations

from typing import Any

from .conftest import MakeSim, candidate


def many(count: int, start: int = 1) -> dict[str, Any]:
    return {"modules": {"Candidates": [candidate(i) for i in range(start, start + count)]}}


async def test_pages_of_200_with_more_records_until_the_last(make_sim: MakeSim) -> None:
    sim = await make_sim(many(450))
    first = (await sim.get("/recruit/v2/Candidates", {"page": 1})).json()
    third = (await sim.get("/recruit/v2/Candidates", {"page": 3})).json()
    assert first["info"] == {"per_page": 200, "count": 200, "page": 1, "more_records": True}
    assert third["info"] == {"per_page": 200, "count": 50, "page": 3, "more_records": False}
    assert [r["id"] for r in third["data"]] == [str(i) for i in range(401, 451)]
    beyond = await sim.get("/recruit/v2/Candidates", {"page": 4})
    assert (beyond.status_code, beyond.content) == (204, b"")


async def test_ids_sort_numerically_not_as_text(make_sim: MakeSim) -> None:
    sim = await make_sim({"modules": {"Candidates": [candidate(i) for i in (100, 9, 20, 1000)]}})
    assert await sim.all_ids("/recruit/v2/Candidates") == ["9", "20", "100", "1000"]
    assert await sim.all_ids("/recruit/v2/Candidates", {"sort_order": "desc"}) == ["1000", "100", "20", "9"]


async def test_per_page_above_200_or_bad_page_is_invalid_data(make_sim: MakeSim) -> None:
    sim = await make_sim(many(5))
    for params in ({"per_page": 201}, {"per_page": 0}, {"page": 0}, {"page": "x"}):
        response = await sim.get("/recruit/v2/Candidates", params)
        assert response.status_code == 400 and response.json()["code"] == "INVALID_DATA", params
    small = (await sim.get("/recruit/v2/Candidates", {"per_page": 2, "page": 2})).json()
    assert [r["id"] for r in small["data"]] == ["3", "4"] and small["info"]["more_records"] is True


async def test_fields_returns_only_those_plus_id(make_sim: MakeSim) -> None:
    sim = await make_sim(many(2))
    body = (await sim.get("/recruit/v2/Candidates", {"fields": "Email,Last_Name"})).json()
    assert body["data"][0] == {"id": "1", "Email": "ada1@example.com", "Last_Name": "Lovelace1"}


async def test_converted_is_hidden_by_default_and_selectable(make_sim: MakeSim) -> None:
    records = [candidate(1), candidate(2, **{"$converted": True}), candidate(3)]
    sim = await make_sim({"modules": {"Candidates": records}})
    assert await sim.all_ids("/recruit/v2/Candidates") == ["1", "3"]
    assert await sim.all_ids("/recruit/v2/Candidates", {"converted": "false"}) == ["1", "3"]
    assert await sim.all_ids("/recruit/v2/Candidates", {"converted": "true"}) == ["2"]
    assert await sim.all_ids("/recruit/v2/Candidates", {"converted": "both"}) == ["1", "2", "3"]
    bad = await sim.get("/recruit/v2/Candidates", {"converted": "maybe"})
    assert bad.status_code == 400


async def test_cvid_lists_the_view_records_and_unknown_cvid_is_invalid_data(make_sim: MakeSim) -> None:
    records = [candidate(1), candidate(2), candidate(3, **{"$converted": True}), candidate(4)]
    view = {"id": "5001", "display_value": "Hot", "record_ids": ["4", "3", "2", "404"]}
    sim = await make_sim({"modules": {"Candidates": records}, "custom_views": {"Candidates": [view]}})
    assert await sim.all_ids("/recruit/v2/Candidates", {"cvid": "5001"}) == ["2", "4"]
    both = {"cvid": "5001", "converted": "both"}
    assert await sim.all_ids("/recruit/v2/Candidates", both) == ["2", "3", "4"]
    response = await sim.get("/recruit/v2/Candidates", {"cvid": "9999"})
    assert response.status_code == 400 and response.json()["code"] == "INVALID_DATA"


async def test_if_modified_since_keeps_records_changed_strictly_after(make_sim: MakeSim) -> None:
    records = [
        candidate(1, Updated_On="2026-10-02T10:00:00+05:30"),
        candidate(2, Updated_On="2026-10-02T10:00:01+05:30"),
        candidate(3, Updated_On="2026-10-01T23:00:00+00:00"),  # = 2026-10-02T04:30+05:30
    ]
    contacts = [{"id": "7", "Modified_Time": "2026-10-05T00:00:00+05:30"}, {"id": "8", "Modified_Time": None}]
    sim = await make_sim({"modules": {"Candidates": records, "Contacts": contacts}})
    since = {"If-Modified-Since": "2026-10-02T10:00:00+05:30"}
    assert await sim.all_ids("/recruit/v2/Candidates", **since) == ["2"]
    utc = {"If-Modified-Since": "2026-10-01T22:59:59+00:00"}
    assert await sim.all_ids("/recruit/v2/Candidates", **utc) == ["1", "2", "3"]
    assert await sim.all_ids("/recruit/v2/Contacts", **since) == ["7"]
    response = await sim.get("/recruit/v2/Candidates", headers={"If-Modified-Since": "yesterday"})
    assert response.status_code == 400


async def test_empty_module_is_204_unknown_or_miscased_module_is_invalid_module(make_sim: MakeSim) -> None:
    sim = await make_sim(many(1))
    assert (await sim.get("/recruit/v2/Contacts")).status_code == 204
    for module in ("candidates", "Job_Openings", "Leads"):
        response = await sim.get(f"/recruit/v2/{module}")
        assert response.status_code == 400 and response.json()["code"] == "INVALID_MODULE", module
    assert (await sim.get("/recruit/v2/JobOpenings")).status_code == 204


async def test_sort_by_a_field_is_stable_and_honours_sort_order(make_sim: MakeSim) -> None:
    records = [
        candidate(1, Last_Name="Burns"),
        candidate(2, Last_Name="adams"),
        candidate(3, Last_Name="Burns"),
        candidate(4, Last_Name=None),
    ]
    sim = await make_sim({"modules": {"Candidates": records}})
    assert await sim.all_ids("/recruit/v2/Candidates", {"sort_by": "Last_Name"}) == ["2", "1", "3", "4"]
    by_time = {"sort_by": "Updated_On", "sort_order": "desc"}
    records[1]["Updated_On"] = "2026-12-01T00:00:00+05:30"
    sim = await make_sim({"modules": {"Candidates": records}})
    assert (await sim.all_ids("/recruit/v2/Candidates", by_time))[0] == "2"


async def test_single_record_by_id(make_sim: MakeSim) -> None:
    sim = await make_sim(many(3))
    body = (await sim.get("/recruit/v2/Candidates/2")).json()
    assert body == {"data": [candidate(2)]}
    missing = await sim.get("/recruit/v2/Candidates/99")
    assert missing.status_code == 400 and missing.json()["code"] == "INVALID_DATA"
