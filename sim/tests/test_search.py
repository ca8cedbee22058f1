"""Search criteria: the parser on its own, then GET /recruit/v2/{module}/search."""

from __future__ import annotations

import pytest

from recruit_sync.sim.criteria import Condition, CriteriaError, Junction, escape_value, parse_criteria

from .conftest import MakeSim, candidate


def test_escaped_comma_and_parentheses_belong_to_the_value() -> None:
    assert parse_criteria(r"(Last_Name:equals:Burns\,B)") == Condition("Last_Name", "equals", ("Burns,B",))
    parsed = parse_criteria(r"(Current_Employer:equals:Acme \(India\) Pvt\\Ltd)")
    assert parsed == Condition("Current_Employer", "equals", ("Acme (India) Pvt\\Ltd",))
    round_trip = parse_criteria(f"(Last_Name:equals:{escape_value('a,(b)')})")
    assert round_trip == Condition("Last_Name", "equals", ("a,(b)",))


def test_unescaped_comma_separates_alternatives() -> None:
    parsed = parse_criteria("(Last_Name:equals:Burns,Smith)")
    assert parsed == Condition("Last_Name", "equals", ("Burns", "Smith"))


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    a, b, c = (Condition(f, "equals", ("x",)) for f in ("A", "B", "C"))
    flat = parse_criteria("(A:equals:x)or(B:equals:x)and(C:equals:x)")
    assert flat == Junction("or", (a, Junction("and", (b, c))))
    grouped = parse_criteria("((A:equals:x) OR (B:equals:x)) and (C:equals:x)")
    assert grouped == Junction("and", (Junction("or", (a, b)), c))


@pytest.mark.parametrize(
    "text",
    [
        "Last_Name:equals:Burns",  # no parentheses
        "(Last_Name:contains:Burns)",  # operator Recruit does not document
        "(Last_Name:equals:Bu(rns)",  # unescaped (
        "(Last_Name:equals:Burns",  # unbalanced
        "(Last_Name:equals:)",  # empty value
        "(Last_Name:equals:Burns\\",  # lone backslash
        "(Last_Name:equals:Burns)xor(First_Name:equals:M)",
        "((Last_Name:equals:Burns)and)",
        "",
    ],
)
def test_malformed_criteria_are_refused(text: str) -> None:
    with pytest.raises(CriteriaError):
        parse_criteria(text)


def test_at_most_ten_conditions() -> None:
    ten = "and".join(f"(F{n}:equals:x)" for n in range(10))
    parsed = parse_criteria(f"({ten})")
    assert isinstance(parsed, Junction) and len(parsed.parts) == 10
    with pytest.raises(CriteriaError, match="11 conditions"):
        parse_criteria(f"({ten}and(F10:equals:x))")


RECORDS = [
    candidate(1, Last_Name="Burns,B", First_Name="Monty"),
    candidate(2, Last_Name="Burns", First_Name="Mike", Experience_in_Years=5),
    candidate(3, Last_Name="BURNS", First_Name="Ned", Email_Opt_Out=True),
    candidate(4, Last_Name="Flanders", First_Name="Maude", **{"$converted": True}),
    candidate(5, Last_Name="Szyslak", First_Name="Moe", Experience_in_Years=5.0),
]


async def search(make_sim: MakeSim, criteria: str, **params: str) -> tuple[int, list[str]]:
    sim = await make_sim({"modules": {"Candidates": RECORDS}})
    response = await sim.get("/recruit/v2/Candidates/search", {"criteria": criteria, **params})
    if response.status_code != 200:
        return response.status_code, []
    return 200, [r["id"] for r in response.json()["data"]]


async def test_search_with_an_escaped_comma_finds_only_that_value(make_sim: MakeSim) -> None:
    assert await search(make_sim, r"(Last_Name:equals:Burns\,B)") == (200, ["1"])


async def test_search_equals_is_case_insensitive_and_starts_with_works(make_sim: MakeSim) -> None:
    assert await search(make_sim, "(Last_Name:equals:burns)") == (200, ["2", "3"])
    assert await search(make_sim, "(Last_Name:starts_with:bur)") == (200, ["1", "2", "3"])


async def test_search_and_or_with_parentheses(make_sim: MakeSim) -> None:
    criteria = "((Last_Name:starts_with:Burns)and((First_Name:equals:Mike)or(First_Name:equals:Ned)))"
    assert await search(make_sim, criteria) == (200, ["2", "3"])


async def test_numbers_and_booleans_compare_by_text(make_sim: MakeSim) -> None:
    assert await search(make_sim, "(Experience_in_Years:equals:5)") == (200, ["2", "5"])
    assert await search(make_sim, "(Email_Opt_Out:equals:true)") == (200, ["3"])


async def test_search_honours_converted(make_sim: MakeSim) -> None:
    assert await search(make_sim, "(First_Name:starts_with:Ma)") == (204, [])
    assert await search(make_sim, "(First_Name:starts_with:Ma)", converted="both") == (200, ["4"])


async def test_bad_or_too_long_criteria_is_invalid_query(make_sim: MakeSim) -> None:
    sim = await make_sim({"modules": {"Candidates": RECORDS}})
    eleven = "and".join(f"(Last_Name:equals:x{n})" for n in range(11))
    for criteria in (f"({eleven})", "(Last_Name:like:Burns)"):
        response = await sim.get("/recruit/v2/Candidates/search", {"criteria": criteria})
        assert response.status_code == 400 and response.json()["code"] == "INVALID_QUERY", criteria
    missing = await sim.get("/recruit/v2/Candidates/search")
    assert missing.status_code == 400 and missing.json()["code"] == "REQUIRED_PARAM_MISSING"


async def test_search_pages_and_reports_more_records(make_sim: MakeSim) -> None:
    records = [candidate(i, Last_Name="Smith" if i % 3 == 0 else "Jones") for i in range(1, 31)]
    sim = await make_sim({"modules": {"Candidates": records}})
    params = {"criteria": "(Last_Name:equals:Smith)", "per_page": 4}
    ids = await sim.all_ids("/recruit/v2/Candidates/search", params)
    assert ids == [str(i) for i in range(3, 31, 3)]
    last = (await sim.get("/recruit/v2/Candidates/search", {**params, "page": 3})).json()
    assert last["info"] == {"per_page": 4, "count": 2, "page": 3, "more_records": False}


async def test_search_by_email_parameter(make_sim: MakeSim) -> None:
    sim = await make_sim({"modules": {"Candidates": RECORDS}})
    response = await sim.get("/recruit/v2/Candidates/search", {"email": "ADA2@example.com"})
    assert [r["id"] for r in response.json()["data"]] == ["2"]
