"""The simulator's fast paths give exactly what the plain code they replace gave.

Serving generated pages was made cheaper (records built a page at a time, hashes computed on all
indices of a page at once, names, phones, skills and clock times from tables, a page's indices
found in one walk). Each fast path is checked here against a plain implementation: for records,
the generator as it was written before (kept below as the reference).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import orjson
import pytest

from recruit_sync.sim import timeutil
from recruit_sync.sim.generate import (
    BLOCK,
    CATEGORIES,
    CITIES,
    COMPANIES,
    FIRST_NAMES,
    FREE_MAIL,
    GEN_EPOCH,
    GEN_ID_BASE,
    JOB_TITLES,
    LAST_NAMES,
    MAX_LAG,
    PER_CATEGORY,
    ROLE_PREFIXES,
    SKILLS,
    SOURCES,
    SPACING,
    STATUSES,
    GeneratedCandidates,
    _mix,
    _mix_indices,
    block_layout,
)
from recruit_sync.sim.store import GenView, ListSelection, MergedSelection, SearchScan
from recruit_sync.sim.timeutil import SIM_TZ, format_epoch

from .conftest import candidate


# The reference: the generator's record as first written (one `_hash` per use, fields formatted) ---
def _ref_hash(seed: int, index: int, salt: int = 0) -> int:
    return _mix((seed << 24) ^ (index * 0xD1B54A32D192ED03 + salt))


def _ref_person(seed: int, index: int) -> tuple[str, str, str, str, str]:
    h = _ref_hash(seed, index)
    first = FIRST_NAMES[h % len(FIRST_NAMES)]
    last = LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
    employer, company_domain = COMPANIES[(h >> 16) % len(COMPANIES)]
    domain = company_domain if (h >> 24) % 100 < 60 else FREE_MAIL[(h >> 32) % len(FREE_MAIL)]
    local = f"{first}.{last}{index + 1}".lower().replace("-", "")
    return first, last, f"{local}@{domain}", employer, company_domain


def _ref_format(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), SIM_TZ).isoformat()


@cache
def _ref_layout(seed: int, block: int) -> tuple[dict[int, str], dict[int, tuple[int, bool]]]:
    pool = list(range(1, BLOCK))
    state = _mix(seed * 0x100000001B3 + block)
    picked = PER_CATEGORY * len(CATEGORIES)
    for k in range(picked):
        state = _mix(state)
        j = k + state % (len(pool) - k)
        pool[k], pool[j] = pool[j], pool[k]
    category = {offset: CATEGORIES[n // PER_CATEGORY] for n, offset in enumerate(pool[:picked])}
    duplicate_of = {}
    for rank, offset in enumerate(sorted(o for o, c in category.items() if c == "duplicate_email")):
        ordinary = [o for o in range(offset) if o not in category]
        state = _mix(state)
        duplicate_of[offset] = (ordinary[state % len(ordinary)], rank % 2 == 0)
    return category, duplicate_of


def _ref_record(seed: int, index: int) -> dict[str, Any]:
    categories, duplicate_of = _ref_layout(seed, index // BLOCK)
    category = categories.get(index % BLOCK)
    h = _ref_hash(seed, index, 4)
    first, last, email, employer, company_domain = _ref_person(seed, index)
    t = _ref_hash(seed, index, 1)
    created = GEN_EPOCH + SPACING * index + t % SPACING
    updated = created + (0 if (t >> 8) % 100 < 35 else SPACING + (t >> 16) % (MAX_LAG - SPACING))
    email_value: str | None = email
    if category == "duplicate_email":
        source_offset, exact = duplicate_of[index % BLOCK]
        first, last, email, _, _ = _ref_person(seed, index - index % BLOCK + source_offset)
        local, domain = email.split("@")
        email_value = email if exact else f"{local.title()}@{domain}"
    elif category == "role_email":
        email_value = f"{ROLE_PREFIXES[h % len(ROLE_PREFIXES)]}@{company_domain}"
    elif category in ("blank_email", "invalid_email"):
        local, domain = email.split("@")
        g = _ref_hash(seed, index, 3)
        if category == "blank_email":
            email_value = (None, "", "   ")[g % 3]
        else:
            email_value = (
                f"{local}@",
                f"{local}@@{domain}",
                f"{local}.{domain}",
                f"{first} {last}{index + 1}@{domain}".lower(),
                f"{local}@{domain.rsplit('.', 1)[0]}..com",
                f"@{domain}",
            )[g % 6]
    city, country = CITIES[(h >> 8) % len(CITIES)]
    skills = (SKILLS[(h >> 16) % 20], SKILLS[(h >> 21) % 20], SKILLS[(h >> 26) % 20])
    return {
        "id": str(GEN_ID_BASE + index),
        "Candidate_ID": f"ZR_{1000001 + index}_CAND",
        "First_Name": first,
        "Last_Name": last,
        "Full_Name": f"{first} {last}",
        "Email": email_value,
        "Phone": f"+1 555 {100 + (h >> 31) % 900:03d} {(h >> 41) % 10000:04d}",
        "City": city,
        "Country": country,
        "Current_Employer": employer,
        "Current_Job_Title": JOB_TITLES[(h >> 12) % len(JOB_TITLES)],
        "Experience_in_Years": (h >> 4) % 25,
        "Skill_Set": ", ".join(dict.fromkeys(skills)),
        "Candidate_Status": STATUSES[(h >> 36) % len(STATUSES)],
        "Source": SOURCES[(h >> 52) % len(SOURCES)],
        "Email_Opt_Out": category == "opt_out",
        "$converted": category == "converted",
        "Created_Time": _ref_format(created),
        "Updated_On": _ref_format(updated),
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal and serialised byte for byte alike (key order, bool vs int)."""
    return orjson.dumps(a) == orjson.dumps(b)


# Records ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [20261127, 7, 0, 123456789])
def test_records_equal_the_reference_for_every_category(seed: int) -> None:
    gen = GeneratedCandidates(1_000_000, seed)
    indices = [*range(2 * BLOCK), *random.Random(seed).sample(range(1_000_000), 600), 999_999]
    built = gen.records(indices)  # a run (hashed all at once)
    assert len(built) == len(indices)
    for index, record in zip(indices, built, strict=True):
        want = _ref_record(seed, index)
        assert _same(record, want), index
        assert _same(gen.record(index), want), index  # one by one (hashed one by one)
    assert {gen.category(i) for i in range(2 * BLOCK)} == {None, *CATEGORIES}


def test_records_of_short_runs_and_scattered_indices_equal_one_by_one() -> None:
    gen = GeneratedCandidates(50_000)
    for indices in ([], [3], list(range(7)), list(range(8)), [49_999, 0, 17, 17, 25_000] * 3):
        assert gen.records(indices) == [_ref_record(gen.seed, i) for i in indices]
    assert gen.records(range(100, 300)) == [gen.record(i) for i in range(100, 300)]


def test_a_record_is_the_same_fetched_twice_and_each_fetch_is_a_fresh_dict() -> None:
    gen = GeneratedCandidates(10_000)
    first = gen.record(4242)
    first["Email"] = "changed@example.com"
    page = gen.records(range(4200, 4300))
    page[42]["City"] = "Nowhere"
    assert gen.record(4242) == _ref_record(gen.seed, 4242) == gen.records(range(4200, 4300))[42]


def test_packed_hashes_equal_mix_one_by_one() -> None:
    rng = random.Random(5)
    for key in (20261127 << 24, 0, (1 << 100) - 1, rng.getrandbits(99)):
        for count in (1, 2, 8, 200, 1000):
            indices = [rng.randrange(1 << 40) for _ in range(count)]
            indices[0] = (1 << 40) - 1
            want = [[_mix(key ^ (i * 0xD1B54A32D192ED03 + salt)) for i in indices] for salt in (0, 1, 4)]
            assert _mix_indices(key, indices, (0, 1, 4)) == want


def test_block_layout_equals_the_reference() -> None:
    for seed in (20261127, 7):
        for block in (*range(40), 999, 123_456):
            layout = block_layout(seed, block)
            assert (layout.category, layout.duplicate_of) == _ref_layout(seed, block)
            assert layout.converted_set == set(layout.converted)


# Timestamps ------------------------------------------------------------------------------------
def test_format_epoch_equals_datetime_formatting_and_its_day_cache_is_exact() -> None:
    rng = random.Random(11)
    samples = [0, 1, -1, 59.9, -0.5, 86_399, GEN_EPOCH, GEN_EPOCH + MAX_LAG, 1_795_000_000.75]
    samples += [rng.uniform(-2e9, 4e9) for _ in range(20_000)]
    for epoch in samples:
        assert format_epoch(epoch) == _ref_format(epoch), epoch
    for day in (0, -1, 19_723, 20_000):  # the cached day text equals the plain one
        assert (
            format_epoch(day * 86_400 - 19_800)[:10] == (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        )
    timeutil.DAY_TEXT.clear()
    for day in range(timeutil._MAX_DAYS + 10):  # past the bound: cleared and refilled, still exact
        epoch = day * 86_400 + 3_600
        assert format_epoch(epoch) == _ref_format(epoch)
    assert len(timeutil.DAY_TEXT) <= timeutil._MAX_DAYS


# Selections ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["false", "true", "both"])
@pytest.mark.parametrize("after", [None, GEN_EPOCH + 1_200 * 60])
@pytest.mark.parametrize("hidden", [set(), {5, 1_300, 2_999}])
def test_select_run_equals_select_one_by_one(mode: Any, after: float | None, hidden: set[int]) -> None:
    view = GenView(GeneratedCandidates(3_000), mode, after, hidden)
    total = len(view)
    assert total > 30
    for k in (0, 1, 13, total // 2, max(total - 200, 0), total - 7):
        count = min(200, total - k)
        assert view.select_run(k, count) == [view.select(j) for j in range(k, k + count)], k
    assert view.select_run(0, 0) == []


def test_unconverted_from_equals_select_unconverted() -> None:
    gen = GeneratedCandidates(5_000)
    unconverted = [gen.select_unconverted(k) for k in range(4_500)]
    for k in (0, 1, 984, 985, 986, 2_000):
        assert gen.unconverted_from(unconverted[k], 500) == unconverted[k : k + 500]
    assert gen.unconverted_from(0, 0) == []


@pytest.mark.parametrize("descending", [False, True])
def test_merged_and_list_pages_equal_their_items_one_by_one(descending: bool) -> None:
    gen = GeneratedCandidates(2_500)
    explicit = [candidate(5), candidate(9000000000003), candidate(9000000001500), candidate("abc")]
    merged = MergedSelection(explicit, GenView(gen, "false", None, {10, 11}), descending)
    listed = ListSelection([explicit[0], 7, 3, explicit[3], 2_000, 1], gen)
    for selection in (merged, listed):
        items = [selection.item(p) for p in range(len(selection))]
        for start in (0, 1, 2, 3, 150, len(selection) - 5, len(selection), len(selection) + 3):
            for count in (1, 4, 200):
                assert selection.page(start, count) == items[start : start + count], (start, count)


class _EveryThird:
    def matches(self, record: dict[str, Any]) -> bool:
        return int(record["id"]) % 3 == 0


def test_search_pages_equal_matching_one_by_one() -> None:
    gen = GeneratedCandidates(3_000)
    selection = MergedSelection([candidate(9000000000003)], GenView(gen, "false", None, set()), False)
    everything = [selection.item(p) for p in range(len(selection))]
    want = [r for r in everything if int(r["id"]) % 3 == 0]
    scan = SearchScan(selection, _EveryThird())
    for start, count in ((0, 200), (200, 200), (400, 1), (401, 37), (900, 200), (950, 200)):
        found, more = scan.page(start, count)
        assert found == want[start : start + count] and more == (len(want) > start + count)
