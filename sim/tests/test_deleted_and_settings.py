"""GET /recruit/v2/{module}/deleted, /settings/modules and /settings/custom_views."""

from __future__ import annotations

from .conftest import MakeSim, candidate

DATA = {
    "modules": {"Candidates": [candidate(1)], "Vendors": [{"id": "77", "Vendor_Name": "Hays"}]},
    "custom_views": {"Candidates": [{"id": "5001", "display_value": "Hot leads", "record_ids": ["1"]}]},
    "deleted": {
        "Candidates": [
            {"id": "100009", "deleted_time": "2026-11-01T09:00:00+05:30", "display_name": "Old Timer"},
            {"id": "100010", "deleted_time": "2026-11-02T09:00:00+05:30", "type": "permanent"},
            {"id": "100011", "deleted_time": "2026-11-03T09:00:00+05:30"},
        ]
    },
}


async def test_deleted_items_have_the_documented_shape(make_sim: MakeSim) -> None:
    sim = await make_sim(DATA)
    body = (await sim.get("/recruit/v2/Candidates/deleted", {"type": "all"})).json()
    first = body["data"][0]
    assert set(first) == {"id", "display_name", "type", "deleted_time", "deleted_by", "created_by"}
    assert (first["id"], first["display_name"], first["type"]) == ("100009", "Old Timer", "recycle")
    assert set(first["deleted_by"]) == {"name", "id"}
    assert body["info"]["count"] == 3 and body["info"]["more_records"] is False


async def test_deleted_type_filter_accepts_any_casing(make_sim: MakeSim) -> None:
    sim = await make_sim(DATA)
    assert await sim.all_ids("/recruit/v2/Candidates/deleted", {"type": "All"}) == [
        "100009",
        "100010",
        "100011",
    ]
    assert await sim.all_ids("/recruit/v2/Candidates/deleted", {"type": "RECYCLE"}) == ["100009", "100011"]
    assert await sim.all_ids("/recruit/v2/Candidates/deleted", {"type": "permanent"}) == ["100010"]
    assert (await sim.get("/recruit/v2/Candidates/deleted", {"type": "gone"})).status_code == 400


async def test_deleted_pages_and_filters_on_deleted_time(make_sim: MakeSim) -> None:
    sim = await make_sim(DATA)
    assert await sim.all_ids("/recruit/v2/Candidates/deleted", {"per_page": 1}) == [
        "100009",
        "100010",
        "100011",
    ]
    since = {"If-Modified-Since": "2026-11-02T09:00:00+05:30"}
    assert await sim.all_ids("/recruit/v2/Candidates/deleted", **since) == ["100011"]
    assert (await sim.get("/recruit/v2/Contacts/deleted")).status_code == 204


async def test_modules_lists_the_standard_ones_and_those_in_the_data(make_sim: MakeSim) -> None:
    sim = await make_sim(DATA)
    modules = {m["api_name"]: m for m in (await sim.get("/recruit/v2/settings/modules")).json()["modules"]}
    assert set(modules) == {"Candidates", "Contacts", "Clients", "JobOpenings", "Vendors"}
    assert modules["JobOpenings"]["plural_label"] == "Job Openings"
    assert modules["Candidates"]["convertable"] is True and modules["Clients"]["convertable"] is False
    assert all(m["api_supported"] is True and m["id"] for m in modules.values())
    assert await sim.all_ids("/recruit/v2/Vendors") == ["77"]


async def test_custom_views_of_a_module(make_sim: MakeSim) -> None:
    sim = await make_sim(DATA)
    views = (await sim.get("/recruit/v2/settings/custom_views", {"module": "Candidates"})).json()[
        "custom_views"
    ]
    assert [(v["id"], v["display_value"], v["system_defined"], v["criteria"]) for v in views] == [
        ("5001", "Hot leads", False, None)
    ]
    assert {"system_name", "sort_by"} <= set(views[0])
    unknown = await sim.get("/recruit/v2/settings/custom_views", {"module": "Nope"})
    assert unknown.json()["code"] == "INVALID_MODULE"
    assert (await sim.get("/recruit/v2/settings/custom_views")).json()["code"] == "REQUIRED_PARAM_MISSING"
