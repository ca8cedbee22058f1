"""POST /_sim/faults: injected failures and how they are metered."""

from __future__ import annotations

import time

import orjson
import pytest

from .conftest import GRANT, Clock, MakeSim, candidate


async def test_429_carries_retry_headers_for_count_calls_then_stops(make_sim: MakeSim, clock: Clock) -> None:
    sim = await make_sim({"modules": {"Candidates": [candidate(1)]}})
    fault = {"status": 429, "count": 2, "retry_after": 7, "path": "/recruit/v2/Candidates"}
    assert (await sim.http.post("/_sim/faults", json=fault)).status_code == 200
    for _ in range(2):
        response = await sim.get("/recruit/v2/Candidates")
        assert response.status_code == 429
        assert response.json() == {
            "code": "TOO_MANY_REQUESTS",
            "details": {},
            "message": "too many requests",
            "status": "error",
        }
        assert response.headers["Retry-After"] == "7"
        assert response.headers["X-RATELIMIT-RESET"] == str(int(clock.now) + 7)
        assert response.headers["X-RATELIMIT-REMAINING"] == "0"
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 200
    stats = await sim.stats()
    assert (stats["calls"], stats["credits"], stats["faults_pending"]) == (3, 3, 0)


async def test_fault_path_is_a_prefix_and_other_paths_are_untouched(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json={"status": 503, "path": "/recruit/v2/Contacts"})
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 204
    assert (await sim.get("/recruit/v2/Contacts/deleted")).status_code == 503
    assert (await sim.get("/recruit/v2/Contacts")).status_code == 204


@pytest.mark.parametrize(
    ("status", "code"), [(401, "INVALID_TOKEN"), (500, "INTERNAL_ERROR"), (503, "INTERNAL_ERROR")]
)
async def test_error_statuses_answer_the_documented_code(make_sim: MakeSim, status: int, code: str) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json={"status": status})
    response = await sim.get("/recruit/v2/Candidates")
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["status"] == "error"


async def test_401_fault_can_name_another_code(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json={"status": 401, "code": "AUTHENTICATION_FAILED"})
    assert (await sim.get("/recruit/v2/Candidates")).json()["code"] == "AUTHENTICATION_FAILED"


async def test_malformed_answers_200_with_a_body_that_is_not_json(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json={"malformed": True})
    response = await sim.get("/recruit/v2/Candidates")
    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


async def test_in_body_error_answers_200_with_an_error_item(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json={"in_body_error": True})
    response = await sim.get("/recruit/v2/Candidates")
    assert response.status_code == 200
    item = response.json()["data"][0]
    assert (item["status"], item["code"]) == ("error", "INVALID_DATA")


async def test_faults_are_consumed_in_order_and_count_as_calls_without_credits(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json=[{"status": 500}, {"status": 429, "count": 2}])
    statuses = [(await sim.get("/recruit/v2/Candidates")).status_code for _ in range(4)]
    assert statuses == [500, 429, 429, 204]
    stats = await sim.stats()
    assert (stats["calls"], stats["credits"]) == (4, 3)


async def test_default_faults_skip_the_token_endpoint_but_an_oauth_path_hits_it(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json={"status": 500})
    assert (await sim.http.post("/oauth/v2/token", data=GRANT)).status_code == 200
    await sim.http.delete("/_sim/faults")
    await sim.http.post("/_sim/faults", json={"status": 429, "path": "/oauth"})
    throttled = await sim.http.post("/oauth/v2/token", data=GRANT)
    assert throttled.status_code == 400 and throttled.json()["error"] == "Access Denied"
    assert (await sim.http.post("/oauth/v2/token", data=GRANT)).status_code == 200


async def test_a_delay_only_fault_slows_the_call_then_answers_normally(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json={"delay": 0.2})
    started = time.monotonic()
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 204
    assert time.monotonic() - started >= 0.2


async def test_bad_fault_specs_are_refused_and_faults_can_be_cleared(make_sim: MakeSim) -> None:
    sim = await make_sim()
    for spec in ({"status": 429, "count": 0}, {"stauts": 429}, {"status": 42}, {"status": 500, "path": "x"}):
        assert (await sim.http.post("/_sim/faults", json=spec)).status_code == 400, spec
    await sim.http.post("/_sim/faults", json={"status": 500, "count": 3})
    assert len((await sim.http.get("/_sim/faults")).json()["pending"]) == 1
    assert (await sim.http.delete("/_sim/faults")).json() == {"pending": []}
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 204


@pytest.mark.parametrize(
    ("fault", "credits"),
    [
        ({"malformed": True}, 3),
        ({"in_body_error": True}, 3),
        ({"status": 400}, 3),
        ({"status": 401}, 0),
        ({"status": 429}, 0),
        ({"status": 503}, 0),
    ],
)
async def test_served_fault_answers_cost_credits_refusals_and_5xx_do_not(
    make_sim: MakeSim, fault: dict[str, object], credits: int
) -> None:
    sim = await make_sim()
    await sim.http.post("/_sim/faults", json=fault)
    await sim.get("/recruit/v2/Candidates")
    stats = await sim.stats()
    assert (stats["calls"], stats["credits"]) == (1, credits)
