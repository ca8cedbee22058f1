"""The accounts server and the token check on every Recruit call."""

from __future__ import annotations

import httpx

from recruit_sync.sim import SimData, create_app

from .conftest import GRANT, Clock, MakeSim

INVALID_TOKEN = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}


async def test_refresh_grant_returns_a_bearer_token_that_opens_the_api(make_sim: MakeSim) -> None:
    sim = await make_sim()
    response = await sim.http.post("/oauth/v2/token", data=GRANT)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["api_domain"]
    headers = {"Authorization": f"Zoho-oauthtoken {body['access_token']}"}
    assert (await sim.http.get("/recruit/v2/settings/modules", headers=headers)).status_code == 200


async def test_token_endpoint_reads_parameters_from_the_query_string_too(make_sim: MakeSim) -> None:
    sim = await make_sim()
    response = await sim.http.post("/oauth/v2/token", params=GRANT)
    assert response.status_code == 200 and response.json()["access_token"]


async def test_wrong_client_or_secret_is_invalid_client_and_wrong_refresh_token_invalid_code(
    make_sim: MakeSim,
) -> None:
    sim = await make_sim()
    for change, error in (
        ({"client_id": "nope"}, "invalid_client"),
        ({"client_secret": "nope"}, "invalid_client"),
        ({"refresh_token": "nope"}, "invalid_code"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ):
        response = await sim.http.post("/oauth/v2/token", data={**GRANT, **change})
        assert (response.status_code, response.json()) == (400, {"error": error}), change


async def test_data_file_oauth_replaces_the_default_credentials(clock: Clock) -> None:
    oauth = {"client_id": "acme", "client_secret": "s3", "refresh_token": "1000.r"}
    app = create_app(SimData.from_dict({"oauth": oauth}), clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sim") as http:
        assert (await http.post("/oauth/v2/token", data=GRANT)).json() == {"error": "invalid_client"}
        response = await http.post("/oauth/v2/token", data={"grant_type": "refresh_token", **oauth})
        assert response.status_code == 200


async def test_missing_unknown_or_malformed_authorization_is_401_invalid_token(make_sim: MakeSim) -> None:
    sim = await make_sim()
    bogus = {"Authorization": "Zoho-oauthtoken 1000.bogus"}
    for headers in ({}, bogus, {"Authorization": f"Bearer {sim.token}"}):
        response = await sim.http.get("/recruit/v2/Candidates", headers=headers)
        assert (response.status_code, response.json()) == (401, INVALID_TOKEN), headers


async def test_access_token_expires_after_token_ttl(make_sim: MakeSim, clock: Clock) -> None:
    sim = await make_sim({"token_ttl": 60})
    clock.now += 59
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 204
    clock.now += 1
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 401
    response = await sim.http.post("/oauth/v2/token", data=GRANT)
    assert response.json()["expires_in"] == 60


async def test_control_api_rotates_refresh_token_and_expires_issued_tokens(make_sim: MakeSim) -> None:
    sim = await make_sim()
    assert (await sim.http.post("/_sim/oauth", json={"refresh_token": "rt2"})).status_code == 200
    assert (await sim.http.post("/oauth/v2/token", data=GRANT)).json() == {"error": "invalid_code"}
    assert (await sim.http.post("/oauth/v2/token", data={**GRANT, "refresh_token": "rt2"})).status_code == 200
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 204  # issued tokens survive a rotation
    await sim.http.post("/_sim/oauth", json={"expire_access_tokens": True})
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 401


async def test_token_requests_are_not_metered_but_counted_as_issued(make_sim: MakeSim) -> None:
    sim = await make_sim()
    await sim.http.post("/oauth/v2/token", data=GRANT)
    await sim.http.post("/oauth/v2/token", data={**GRANT, "refresh_token": "bad"})
    stats = await sim.stats()
    assert (stats["calls"], stats["credits"], stats["tokens_issued"]) == (0, 0, 2)
