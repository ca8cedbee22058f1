"""POST /_sim/paging: token paging past N records, as Zoho CRM does past 2,000."""

from __future__ import annotations

from typing import Any

from .conftest import MakeSim, Sim


async def pages(sim: Sim, per_page: int) -> list[dict[str, Any]]:
    """Every page's info, following `next_page_token` when a page gives one."""
    infos: list[dict[str, Any]] = []
    params: dict[str, Any] = {"page": 1, "per_page": per_page}
    while True:
        response = await sim.get("/recruit/v2/Candidates", params)
        assert response.status_code == 200, response.text
        info = response.json()["info"]
        infos.append({**info, "ids": [r["id"] for r in response.json()["data"]]})
        if not info["more_records"]:
            return infos
        token = info.get("next_page_token")
        following = {"page_token": token} if token else {"page": info["page"] + 1}
        params = {**following, "per_page": per_page}


async def test_pages_past_the_limit_are_reached_by_token_only(make_sim: MakeSim) -> None:
    sim = await make_sim(generate=25)
    assert (await sim.http.post("/_sim/paging", json={"page_token_after": 10})).json() == {
        "page_token_after": 10
    }
    infos = await pages(sim, per_page=5)
    assert [len(i["ids"]) for i in infos] == [5] * 5
    assert len({i for info in infos for i in info["ids"]}) == 25
    assert [i["page"] for i in infos] == [1, 2, 3, 4, 5]
    # page 2 ends at record 10: it and the pages after it point to the next by token
    assert [i.get("next_page_token") is not None for i in infos] == [False, True, True, True, False]
    refused = await sim.get("/recruit/v2/Candidates", {"page": 3, "per_page": 5})
    assert refused.status_code == 400 and refused.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


async def test_bad_token_and_bad_setting_are_refused(make_sim: MakeSim) -> None:
    sim = await make_sim(generate=3)
    for body in ({"page_token_after": 0}, {"page_token_after": "10"}, {}, [10]):
        assert (await sim.http.post("/_sim/paging", json=body)).status_code == 400, body
    await sim.http.post("/_sim/paging", json={"page_token_after": 1})
    for token in ("nonsense", "sim-pt-", "sim-pt-x1"):
        answer = await sim.get("/recruit/v2/Candidates", {"page_token": token})
        assert (answer.status_code, answer.json()["code"]) == (400, "INVALID_DATA"), token


async def test_off_by_default_and_after_null_or_reset(make_sim: MakeSim) -> None:
    sim = await make_sim(generate=450)
    assert all("next_page_token" not in i for i in await pages(sim, per_page=200))
    await sim.http.post("/_sim/paging", json={"page_token_after": 200})
    assert (await sim.get("/recruit/v2/Candidates", {"page": 2})).status_code == 400
    await sim.http.post("/_sim/paging", json={"page_token_after": None})
    assert (await sim.get("/recruit/v2/Candidates", {"page": 2})).status_code == 200
    await sim.http.post("/_sim/paging", json={"page_token_after": 200})
    await sim.http.post("/_sim/reset")
    assert (await sim.get("/recruit/v2/Candidates", {"page": 2})).status_code == 200
