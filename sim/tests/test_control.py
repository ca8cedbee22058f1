"""The control API: records, stats, reset."""

from __future__ import annotations

from pathlib import Path

import orjson

from recruit_sync.sim import SimData
from recruit_sync.sim.timeutil import format_epoch

from .conftest import GRANT, Clock, MakeSim, candidate


async def test_added_records_get_timestamps_now_when_absent(make_sim: MakeSim, clock: Clock) -> None:
    sim = await make_sim()
    new = {"id": "500", "Email": "new@example.com"}
    assert (await sim.http.post("/_sim/records/Candidates", json=[new])).json() == {"ids": ["500"]}
    await sim.http.post("/_sim/records/Contacts", json=[{"id": "600"}])
    record = (await sim.get("/recruit/v2/Candidates/500")).json()["data"][0]
    assert record["Updated_On"] == record["Created_Time"] == format_epoch(clock.now)
    contact = (await sim.get("/recruit/v2/Contacts/600")).json()["data"][0]
    assert contact["Modified_Time"] == format_epoch(clock.now) and "Updated_On" not in contact


async def test_replace_by_id_keeps_created_time_and_is_seen_by_if_modified_since(
    make_sim: MakeSim, clock: Clock
) -> None:
    sim = await make_sim({"modules": {"Candidates": [candidate(1), candidate(2)]}})
    clock.now += 600
    await sim.http.post("/_sim/records/Candidates", json=[{"id": "2", "Email": "changed@example.com"}])
    record = (await sim.get("/recruit/v2/Candidates/2")).json()["data"][0]
    assert record["Email"] == "changed@example.com" and "First_Name" not in record
    assert record["Created_Time"] == "2026-10-01T10:00:00+05:30"
    since = {"If-Modified-Since": format_epoch(clock.now - 1)}
    assert await sim.all_ids("/recruit/v2/Candidates", **since) == ["2"]


async def test_records_without_id_get_one(make_sim: MakeSim) -> None:
    sim = await make_sim()
    ids = (
        await sim.http.post("/_sim/records/Candidates", json=[{"Email": "a@x.io"}, {"Email": "b@x.io"}])
    ).json()
    assert len(set(ids["ids"])) == 2
    assert await sim.all_ids("/recruit/v2/Candidates") == ids["ids"]


async def test_delete_moves_the_record_to_the_deleted_list(make_sim: MakeSim, clock: Clock) -> None:
    sim = await make_sim({"modules": {"Candidates": [candidate(1), candidate(2)]}})
    assert (await sim.http.delete("/_sim/records/Candidates/1")).status_code == 200
    assert await sim.all_ids("/recruit/v2/Candidates") == ["2"]
    deleted = (await sim.get("/recruit/v2/Candidates/deleted")).json()["data"]
    assert [(d["id"], d["deleted_time"], d["display_name"]) for d in deleted] == [
        ("1", format_epoch(clock.now), "Ada Lovelace1")
    ]
    assert (await sim.http.delete("/_sim/records/Candidates/1")).status_code == 404
    assert (await sim.http.delete("/_sim/records/Nope/1")).status_code == 404
    await sim.http.post("/_sim/records/Candidates", json=[candidate(1)])  # restored
    assert (await sim.get("/recruit/v2/Candidates/deleted")).status_code == 204


async def test_bad_record_bodies_are_refused(make_sim: MakeSim) -> None:
    sim = await make_sim()
    for body in (b"not json", b"[1, 2]", b'"x"'):
        assert (await sim.http.post("/_sim/records/Candidates", content=body)).status_code == 400


async def test_credits_are_three_for_list_and_search_and_one_for_the_rest(make_sim: MakeSim) -> None:
    sim = await make_sim({"modules": {"Candidates": [candidate(1)]}})
    await sim.get("/recruit/v2/Candidates")
    await sim.get("/recruit/v2/Candidates/search", {"criteria": "(Email:equals:ada1@example.com)"})
    await sim.get("/recruit/v2/Candidates/1")
    await sim.get("/recruit/v2/Candidates/deleted")
    await sim.get("/recruit/v2/settings/modules")
    await sim.http.get("/recruit/v2/Candidates")  # no token: a call, no credits
    stats = await sim.stats()
    assert (stats["calls"], stats["credits"]) == (6, 3 + 3 + 1 + 1 + 1)
    assert stats["by_path"] == {
        "/recruit/v2/Candidates": 2,
        "/recruit/v2/Candidates/search": 1,
        "/recruit/v2/Candidates/1": 1,
        "/recruit/v2/Candidates/deleted": 1,
        "/recruit/v2/settings/modules": 1,
    }


async def test_reset_reloads_the_file_and_clears_faults_and_counters(
    make_sim: MakeSim, tmp_path: Path
) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(orjson.dumps({"modules": {"Candidates": [candidate(1)]}}))
    sim = await make_sim(data=SimData.load(path))
    await sim.http.post("/_sim/records/Candidates", json=[candidate(2)])
    await sim.http.delete("/_sim/records/Candidates/1")
    await sim.http.post("/_sim/faults", json={"status": 500, "count": 5})
    await sim.http.post("/_sim/oauth", json={"refresh_token": "other"})
    assert (await sim.get("/recruit/v2/Candidates")).status_code == 500
    path.write_bytes(orjson.dumps({"modules": {"Candidates": [candidate(1), candidate(3)]}}))
    assert (await sim.http.post("/_sim/reset")).json() == {"ok": True}
    stats = await sim.stats()
    assert (stats["calls"], stats["credits"], stats["by_path"], stats["faults_pending"]) == (0, 0, {}, 0)
    assert await sim.all_ids("/recruit/v2/Candidates") == ["1", "3"]
    assert (await sim.get("/recruit/v2/Candidates/deleted")).status_code == 204
    token = await sim.http.post("/oauth/v2/token", data=GRANT)
    assert token.status_code == 200  # the file's (default) credentials again
