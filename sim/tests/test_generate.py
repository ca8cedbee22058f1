"""Generated candidates: the distribution, determinism, and lazy listing checked against brute force."""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter
from typing import Any

import pytest

from recruit_sync.sim.generate import (
    BLOCK,
    FREE_MAIL,
    GEN_EPOCH,
    MAX_LAG,
    PER_CATEGORY,
    ROLE_PREFIXES,
    GeneratedCandidates,
)
from recruit_sync.sim.store import id_key, modified_epoch
from recruit_sync.sim.timeutil import format_epoch

from .conftest import MakeSim, candidate

PLAIN_EMAIL = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)*@[a-z0-9-]+(\.[a-z0-9-]+)+$")


def test_records_are_a_pure_function_of_seed_and_index() -> None:
    a, b, other = (
        GeneratedCandidates(100_000),
        GeneratedCandidates(100_000),
        GeneratedCandidates(100_000, seed=7),
    )
    for index in (0, 1, 999, 54_321, 99_999):
        assert a.record(index) == b.record(index)
    assert [a.record(i)["Email"] for i in range(50)] != [other.record(i)["Email"] for i in range(50)]
    assert a.record(0)["id"] == "9000000000001" and a.record(99_999)["id"] == "9000000100000"


def test_every_full_block_has_fifteen_of_each_category_matching_the_record() -> None:
    gen = GeneratedCandidates(10 * BLOCK)
    kinds = Counter(gen.category(i) for i in range(len(gen)))
    assert kinds.pop(None) == 10 * (BLOCK - 6 * PER_CATEGORY)
    assert kinds == dict.fromkeys(kinds, 10 * PER_CATEGORY) and len(kinds) == 6
    ordinary_emails: dict[int, str] = {}
    exact_duplicates = 0
    for index in range(len(gen)):
        record, kind = gen.record(index), gen.category(index)
        email = record["Email"]
        assert record["Email_Opt_Out"] is (kind == "opt_out")
        assert record["$converted"] is (kind == "converted")
        if kind == "blank_email":
            assert email is None or email.strip() == ""
        elif kind == "invalid_email":
            assert not PLAIN_EMAIL.match(email), email
        elif kind == "role_email":
            assert email.split("@")[0] in ROLE_PREFIXES
        elif kind == "duplicate_email":
            block_start = index - index % BLOCK
            earlier = {e.casefold(): e for i, e in ordinary_emails.items() if block_start <= i < index}
            assert email.casefold() in earlier, email
            exact_duplicates += earlier[email.casefold()] == email
        else:
            assert PLAIN_EMAIL.match(email), email
            if kind is None:
                ordinary_emails[index] = email
    assert len(set(ordinary_emails.values())) == len(ordinary_emails)
    assert exact_duplicates == 10 * 8  # ranks 0, 2, ..., 14 of the 15 per block
    free = sum(e.split("@")[1] in FREE_MAIL for e in ordinary_emails.values()) / len(ordinary_emails)
    assert 0.3 < free < 0.5


def test_timestamps_increase_with_the_index_and_updates_lag_at_most_seven_days() -> None:
    gen = GeneratedCandidates(5000)
    times = [gen.times(i) for i in range(len(gen))]
    assert all(a[0] < b[0] for a, b in itertools.pairwise(times))
    assert all(0 <= updated - created < MAX_LAG for created, updated in times)
    assert 0.25 < sum(c == u for c, u in times) / len(times) < 0.45
    record = gen.record(4321)
    assert record["Created_Time"] == format_epoch(times[4321][0]) and record["Created_Time"].endswith(
        "+05:30"
    )


def test_converted_rank_and_select_agree_with_brute_force() -> None:
    gen = GeneratedCandidates(3500)
    converted = [i for i in range(len(gen)) if gen.is_converted(i)]
    unconverted = [i for i in range(len(gen)) if not gen.is_converted(i)]
    assert [gen.select_converted(k) for k in range(len(converted))] == converted
    assert [gen.select_unconverted(k) for k in range(len(unconverted))] == unconverted
    assert all(gen.converted_before(i) == sum(c < i for c in converted) for i in range(0, 3501, 7))


def test_modified_after_bounds_are_safe() -> None:
    gen = GeneratedCandidates(30_000)
    for after in (GEN_EPOCH - 10, GEN_EPOCH + 12_345 * 60 + 17, GEN_EPOCH + 29_000 * 60):
        lo, hi = gen.first_index_possibly_after(after), gen.first_index_surely_after(after)
        assert all(gen.updated_epoch(i) <= after for i in range(max(0, lo - 500), lo))
        assert all(gen.updated_epoch(i) > after for i in range(hi, min(len(gen), hi + 500)))


# Lazy listing against a brute-force model -------------------------------------------------------
N = 2500
EXPLICIT = [
    candidate(5, Updated_On=format_epoch(GEN_EPOCH + 1300 * 60)),
    candidate(9000000000003, Last_Name="Override", Updated_On=format_epoch(GEN_EPOCH + 100)),
    candidate(9000000001500, **{"$converted": True}),
    candidate(9000000002600),
    candidate(9999999999999999),
    candidate("abc", Updated_On=format_epoch(GEN_EPOCH + 1200 * 60)),
]
DELETED_GENERATED = ("9000000000010", "9000000001001", "9000000002500")


def model(gen: GeneratedCandidates) -> dict[str, dict[str, Any]]:
    records = {gen.id_of(i): gen.record(i) for i in range(len(gen))}
    records.update({r["id"]: r for r in EXPLICIT})
    for record_id in DELETED_GENERATED:
        del records[record_id]
    return records


def expected(
    records: dict[str, dict[str, Any]], converted: str, after: float | None, desc: bool
) -> list[str]:
    chosen = [
        r["id"]
        for r in records.values()
        if (converted == "both" or bool(r["$converted"]) == (converted == "true"))
        and (after is None or (modified_epoch(r) or 0) > after)
    ]
    return sorted(chosen, key=id_key, reverse=desc)


async def mixed_sim(make_sim: MakeSim) -> Any:
    sim = await make_sim({"modules": {"Candidates": EXPLICIT[:3]}}, generate=N)
    await sim.http.post("/_sim/records/Candidates", json=EXPLICIT[3:])
    for record_id in DELETED_GENERATED:
        assert (await sim.http.delete(f"/_sim/records/Candidates/{record_id}")).status_code == 200
    return sim


@pytest.mark.parametrize("converted", ["false", "true", "both"])
async def test_lazy_listing_matches_brute_force(make_sim: MakeSim, converted: str) -> None:
    sim = await mixed_sim(make_sim)
    records = model(GeneratedCandidates(N))
    for after in (None, GEN_EPOCH + 1250 * 60 + 30, GEN_EPOCH - 1):
        headers = {} if after is None else {"If-Modified-Since": format_epoch(after)}
        for desc in (False, True):
            params = {"converted": converted, "per_page": 97, "sort_order": "desc" if desc else "asc"}
            ids = await sim.all_ids("/recruit/v2/Candidates", params, **headers)
            assert ids == expected(records, converted, after, desc), (after, desc)


async def test_sorting_views_and_search_over_generated_records(make_sim: MakeSim) -> None:
    sim = await mixed_sim(make_sim)
    records = model(GeneratedCandidates(N))
    visible = [r for r in sorted(records.values(), key=lambda r: id_key(r["id"])) if not r["$converted"]]

    by_update = await sim.all_ids("/recruit/v2/Candidates", {"sort_by": "Updated_On", "sort_order": "desc"})
    assert by_update == [r["id"] for r in sorted(visible, key=modified_epoch, reverse=True)]
    by_name = await sim.all_ids("/recruit/v2/Candidates", {"sort_by": "Last_Name"})
    assert by_name == [r["id"] for r in sorted(visible, key=lambda r: r["Last_Name"].casefold())]

    burns = await sim.all_ids("/recruit/v2/Candidates/search", {"criteria": "(Last_Name:equals:burns)"})
    assert burns == [r["id"] for r in visible if r["Last_Name"] == "Burns"] and len(burns) > 10

    members = ["9000000000001", "9000000000010", "9000000000003", "9000000001500", "5"]
    view = {"id": "77", "record_ids": members}
    sim2 = await make_sim({"custom_views": {"Candidates": [view]}}, generate=N)
    gen = GeneratedCandidates(N)
    wanted = sorted(
        (m for m in members if m.startswith("9") and not gen.is_converted(int(m) - 9000000000001)), key=id_key
    )
    assert await sim2.all_ids("/recruit/v2/Candidates", {"cvid": "77"}) == wanted


async def test_page_5000_of_a_million_is_quick_and_right(make_sim: MakeSim) -> None:
    sim = await make_sim(generate=1_000_000)
    started = time.perf_counter()
    response = await sim.get("/recruit/v2/Candidates", {"page": 5000, "converted": "both"})
    elapsed = time.perf_counter() - started
    body = response.json()
    assert [r["id"] for r in body["data"]] == [str(9000000999801 + k) for k in range(200)]
    assert body["info"]["more_records"] is False
    assert elapsed < 0.5, elapsed


async def test_default_listing_of_a_million_skips_exactly_the_converted(make_sim: MakeSim) -> None:
    sim = await make_sim(generate=1_000_000)
    gen = GeneratedCandidates(1_000_000)
    last = (await sim.get("/recruit/v2/Candidates", {"page": 4925})).json()
    assert last["info"] == {"per_page": 200, "count": 200, "page": 4925, "more_records": False}
    assert (await sim.get("/recruit/v2/Candidates", {"page": 4926})).status_code == 204
    # brute force around page 2000: records 399,800 .. 399,999 of the unconverted ones
    unconverted = (i for i in range(1_000_000) if not gen.is_converted(i))
    for _ in range(399_800):
        next(unconverted)
    want = [gen.id_of(next(unconverted)) for _ in range(200)]
    page = (await sim.get("/recruit/v2/Candidates", {"page": 2000})).json()
    assert [r["id"] for r in page["data"]] == want
    assert not any(r["$converted"] for r in page["data"])


async def test_if_modified_since_on_a_million_is_quick(make_sim: MakeSim) -> None:
    sim = await make_sim(generate=1_000_000)
    after = GEN_EPOCH + 700_000 * 60
    started = time.perf_counter()
    first = (
        await sim.get("/recruit/v2/Candidates", headers={"If-Modified-Since": format_epoch(after)})
    ).json()
    elapsed = time.perf_counter() - started
    assert all(modified_epoch(r) > after for r in first["data"])
    assert first["data"][0]["id"] > "9000000689000" and first["info"]["more_records"] is True
    assert elapsed < 1.0, elapsed
