"""The bundled demo data holds exactly the categories sim/README.md promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from recruit_sync.sim import SimData, demo_data_path
from recruit_sync.sim.generate import FREE_MAIL

from .conftest import MakeSim

# Deliberately simpler than a real validator: every demo address is clearly valid or clearly not.
VALID = re.compile(r"^[A-Za-z0-9_+'-]+(\.[A-Za-z0-9_+'-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
ROLE = {"info", "support", "careers", "admin", "hr", "jobs", "sales", "noreply"}


def candidates() -> list[dict[str, Any]]:
    return orjson.loads(demo_data_path().read_bytes())["modules"]["Candidates"]


def classify(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for record in sorted(records, key=lambda r: int(r["id"])):
        email = (record.get("Email") or "").strip()
        if not email:
            kind = "blank"
        elif not VALID.match(email):
            kind = "invalid"
        elif email.split("@")[0].lower() in ROLE:
            kind = "role"
        elif email.casefold() in seen:
            kind = "duplicate"
        else:
            seen.add(email.casefold())
            kind = (
                "opt_out" if record["Email_Opt_Out"] else "converted" if record["$converted"] else "ordinary"
            )
        kinds.setdefault(kind, []).append(record)
    return kinds


def test_demo_candidates_fall_in_the_documented_categories() -> None:
    records = candidates()
    kinds = classify(records)
    counts = {kind: len(found) for kind, found in kinds.items()}
    assert len(records) == 300
    assert counts == {
        "blank": 10,
        "invalid": 10,
        "role": 8,
        "duplicate": 10,
        "opt_out": 12,
        "converted": 6,
        "ordinary": 244,
    }
    assert sum(r["Email_Opt_Out"] for r in records) == 12 and sum(r["$converted"] for r in records) == 6
    assert sum(r["Email"].split("@")[1] in FREE_MAIL for r in kinds["ordinary"]) == 40
    assert sum("Email" not in r for r in kinds["blank"]) == 3


def test_demo_duplicates_are_half_exact_and_newer_than_their_original() -> None:
    records = sorted(candidates(), key=lambda r: int(r["id"]))
    first: dict[str, dict[str, Any]] = {}
    exact = 0
    for record in classify(records)["duplicate"]:
        original = next(r for r in records if (r.get("Email") or "").casefold() == record["Email"].casefold())
        assert int(original["id"]) < int(record["id"]) and original["Updated_On"] < record["Updated_On"]
        assert original["id"] not in first
        first[original["id"]] = record
        exact += original["Email"] == record["Email"]
    assert exact == 5


async def test_demo_data_serves_the_documented_views(make_sim: MakeSim) -> None:
    sim = await make_sim(data=SimData.load(demo_data_path()))
    assert len(await sim.all_ids("/recruit/v2/Candidates")) == 294
    assert len(await sim.all_ids("/recruit/v2/Candidates", {"converted": "both"})) == 300
    assert len(await sim.all_ids("/recruit/v2/Candidates", {"cvid": "5001"})) == 19
    assert len(await sim.all_ids("/recruit/v2/Contacts")) == 6
    assert await sim.all_ids("/recruit/v2/Candidates/deleted") == ["100901", "100902"]


def test_the_script_reproduces_the_committed_file(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_demo_data.py"
    output = tmp_path / "demo.json"
    subprocess.run([sys.executable, str(script), str(output)], check=True, capture_output=True)
    assert output.read_bytes() == demo_data_path().read_bytes()
