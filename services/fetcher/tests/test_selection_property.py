"""Search or list-and-filter: the same records either way (SPEC section 3), on random data and criteria.

Records mix every type a field can hold (text with the characters search escapes, numbers written
several ways, booleans, dates, date-times, multi-selects, lookups, empties), and a field's type may
change from record to record. Criteria are random conditions joined by a random pattern. Whenever the
planner chooses search, Recruit's answer (the simulator's independent implementation of its search)
must be exactly the records the local evaluator keeps from a full listing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from recruit_sync.contracts.sync_spec import Operator, SelectCriteria
from recruit_sync.criteria import Criteria, CriteriaError, SearchPlan, compile_criteria, plan_fetch
from recruit_sync.criteria.values import is_empty
from recruit_sync.fetcher.recruit_auth import Credentials
from recruit_sync.fetcher.recruit_client import RecruitClient
from recruit_sync.fetcher.recruit_http import RetryPolicy
from recruit_sync.sim.app import create_app
from recruit_sync.sim.criteria import parse_criteria
from recruit_sync.sim.data import SimData

TEXTS = [
    "Zylker", "zylker", "ZYLKER", "Zyl", "Information Technology", "information technology",
    "R&D (Labs), Inc", "r&d (labs), inc", "a,b", "x(y)", "back\\slash", " Zylker", "Zylker ", "Straße",
    "STRASSE", "5", "5.0", "05", "-5", "true", "True", "486812000000001",
]  # fmt: skip
NUMBERS = [0, 1, 2, 5, 5.0, 5.5, -5, -0.0, 2015, 2016, 10**16, 1e16, 0.30000000000000004]
DATES = ["2026-10-01", "2026-10-02", "2015-06-30"]
STAMPS = ["2026-10-01T10:00:00+05:30", "2026-10-01T04:30:00Z", "2026-10-01T23:30:00-05:00"]
SKILLS = ["Python", "python", "SQL", "C++ (modern)", "Java, EE", ""]
NAMES = ["Zylker", "zylker", "Globex", "Acme, Inc", "5"]
IDS = ["486812000000001", "5", "2015"]
EMPTY: list[Any] = [None, "", "   ", [], {"name": None, "id": None}]

lookups = st.builds(lambda name, id_: {"name": name, "id": id_}, st.sampled_from(NAMES), st.sampled_from(IDS))
field_values = st.one_of(
    st.sampled_from(TEXTS),
    st.sampled_from(NUMBERS),
    st.booleans(),
    st.sampled_from(DATES + STAMPS),
    st.lists(st.sampled_from(SKILLS), max_size=3),
    lookups,
    st.sampled_from(EMPTY),
)
FIELDS = ["Text", "Num", "Flag", "Day", "Skills", "Client", "Mixed"]
# Each field mostly holds its own type; "Mixed" holds anything.
TYPED: dict[str, st.SearchStrategy[Any]] = {
    "Text": st.sampled_from(TEXTS),
    "Num": st.sampled_from(NUMBERS),
    "Flag": st.booleans(),
    "Day": st.sampled_from(DATES + STAMPS),
    "Skills": st.lists(st.sampled_from(SKILLS), max_size=3),
    "Client": lookups,
    "Mixed": field_values,
}
MISSING = object()
MATCH_EMPTY = {Operator.IS_EMPTY, Operator.NOT_EQUALS, Operator.NOT_CONTAINS}


@st.composite
def records(draw: st.DrawFn) -> list[dict[str, Any]]:
    result = []
    for number in range(1, draw(st.integers(1, 10)) + 1):
        record: dict[str, Any] = {"id": str(number)}
        for name in FIELDS:
            value = draw(st.one_of(TYPED[name], st.sampled_from([*EMPTY, MISSING]), field_values))
            if value is not MISSING:
                record[name] = value
        result.append(record)
    return result


operand_values = st.one_of(
    st.sampled_from(
        [t for t in TEXTS if t.strip()] + ["Py", "zyl", "Acme, Inc", "C++ (modern)", "-0", "5.50"]
    ),
    st.sampled_from(NUMBERS + DATES + STAMPS + NAMES + IDS),
    st.booleans(),
)


def scalars_in(value: Any) -> list[Any]:
    """The non-empty scalars a field value holds: itself, a list's items, a lookup's name and id."""
    if isinstance(value, list):
        return [item for element in value for item in scalars_in(element)]
    if isinstance(value, dict):
        return scalars_in([value.get("name"), value.get("id")])
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    return [value]


@st.composite
def operands(draw: st.DrawFn, rows: list[dict[str, Any]], field: str) -> Any:
    """Mostly a value the records hold in ``field`` (as is, in another case, or a prefix), so that
    conditions select some records and not others; else any value."""
    found = [scalar for row in rows for scalar in scalars_in(row.get(field))]
    if not found or draw(st.integers(0, 3)) == 0:
        return draw(operand_values)
    return draw(st.sampled_from(spellings(draw(st.sampled_from(found)))))


def spellings(value: Any) -> list[Any]:
    """Ways a user may write ``value`` in a condition: for text other cases and a prefix, for numbers
    and booleans their texts, exact and not (``5``, ``5.0``, ``"5"``, ``"5.0"``, ``"05"``, ``"TRUE"``)."""
    if isinstance(value, bool):
        return [value, str(value).lower(), str(value).upper()]
    if isinstance(value, int | float):
        text = str(int(value)) if float(value).is_integer() else repr(value)
        return [value, float(value), text, f"{text}.0", f"0{text}", f"{text}0"]
    if len(value.strip()) > 1:
        return [value, value.upper(), value.lower(), value[: len(value) // 2]]
    return [value]


@st.composite
def searchable_conditions(draw: st.DrawFn, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """equals / starts_with / in: what search can express (the planner may still refuse some values)."""
    field = draw(st.sampled_from(FIELDS))
    operator = draw(st.sampled_from(["equals", "equals", "starts_with", "in"]))
    if operator == "in":
        value: Any = draw(st.lists(operands(rows, field), min_size=1, max_size=3))
    else:
        value = draw(operands(rows, field))
    return {"field": field, "operator": operator, "value": value}


@st.composite
def any_conditions(draw: st.DrawFn, rows: list[dict[str, Any]]) -> dict[str, Any]:
    field = draw(st.sampled_from(FIELDS))
    operator = draw(st.sampled_from(OPERATORS))
    if operator in ("is_empty", "is_not_empty"):
        value: Any = None
    elif operator == "in":
        value = draw(st.lists(operands(rows, field), min_size=1, max_size=3))
    elif operator == "between":
        value = draw(st.lists(operands(rows, field), min_size=2, max_size=2))
    else:
        value = draw(operands(rows, field))
    return {"field": field, "operator": operator, "value": value}


OPERATORS = [
    "equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with", "greater_than",
    "greater_equal", "less_than", "less_equal", "between", "in", "is_empty", "is_not_empty",
]  # fmt: skip


@st.composite
def patterns(draw: st.DrawFn, count: int) -> str | None:
    """None (the default AND), or a random and/or tree over the numbers 1..count in a random order."""
    if draw(st.booleans()):
        return None
    numbers = draw(st.permutations(range(1, count + 1)))

    def tree(part: list[int]) -> str:
        if len(part) == 1:
            return str(part[0])
        cut = draw(st.integers(1, len(part) - 1))
        word = draw(st.sampled_from(["and", "or", "AND", "Or"]))
        return f"({tree(part[:cut])} {word} {tree(part[cut:])})"

    return tree(list(numbers))


Case = tuple[list[dict[str, Any]], "Criteria | None"]


@st.composite
def cases(draw: st.DrawFn, conditions: Any = None) -> Case:
    """Random records and random criteria on them (None when validation refuses the criteria, e.g.
    'between' with its ends swapped)."""
    rows = draw(records())
    make = conditions or searchable_conditions
    chosen = draw(st.lists(make(rows), min_size=1, max_size=5))
    data = {"kind": "criteria", "conditions": chosen, "pattern": draw(patterns(len(chosen)))}
    try:
        return rows, compile_criteria(SelectCriteria.model_validate(data))
    except CriteriaError:
        return rows, None


def local_ids(rows: list[dict[str, Any]], chosen: Criteria) -> list[str]:
    return [row["id"] for row in rows if chosen.matches(row)]


def describe(selected: list[str], rows: list[dict[str, Any]]) -> str:
    return "none" if not selected else "some" if len(selected) < len(rows) else "all"


def known(rows: list[dict[str, Any]], *conditions: tuple[str, str, Any]) -> Case:
    """A hand-picked case: rows and criteria of (field, operator, value) conditions joined by 'and'."""
    data = [{"field": f, "operator": o, "value": v} for f, o, v in conditions]
    return rows, compile_criteria(SelectCriteria.model_validate({"kind": "criteria", "conditions": data}))


NUMS = [{"id": "1", "Num": 5}, {"id": "2", "Num": 5.0}, {"id": "3", "Num": "5"}, {"id": "4", "Num": "5.0"}]


@settings(max_examples=300, deadline=None)
@given(case=cases())
@example(case=known(NUMS, ("Num", "equals", 5.0)))
@example(case=known(NUMS, ("Num", "in", ["5", 6])))
@example(case=known(NUMS, ("Num", "equals", "5.0")))
@example(case=known([{"id": "1", "F": True}, {"id": "2", "F": "True"}], ("F", "equals", "TRUE")))
@example(case=known([{"id": "1", "D": "2026-10-01T10:00:00+05:30"}], ("D", "equals", "2026-10-01")))
@example(case=known([{"id": "1", "L": {"name": "Acme, Inc", "id": "7"}}], ("L", "in", ["acme, inc", "8"])))
def test_recruits_search_criteria_match_the_local_evaluator_record_by_record(case: Case) -> None:
    """Fast and wide: the criteria text the planner sends, read and matched as the simulator does."""
    rows, chosen = case
    plan = plan_fetch(chosen) if chosen is not None else None
    event(f"plan: {type(plan).__name__}")
    if not isinstance(plan, SearchPlan) or chosen is None:
        return
    searched = parse_criteria(plan.criteria)
    selected = local_ids(rows, chosen)
    event(f"selected {describe(selected, rows)}")
    assert [row["id"] for row in rows if searched.matches(row)] == selected, plan.criteria


@settings(max_examples=100, deadline=None)
@given(case=cases(any_conditions))
def test_every_not_operator_is_the_negation_and_empty_fields_match_only_three(case: Case) -> None:
    """The evaluator's laws on random data, for every operator."""
    rows, chosen = case
    if chosen is None:
        return
    for check in chosen.checks:
        negated = {Operator.NOT_EQUALS: Operator.EQUALS, Operator.NOT_CONTAINS: Operator.CONTAINS}
        twin = dataclasses.replace(check, operator=negated.get(check.operator, check.operator))
        for row in rows:
            if check.operator in negated:
                assert check.holds(row) is not twin.holds(row)
            if is_empty(row.get(check.field)):
                assert check.holds(row) is (check.operator in MATCH_EMPTY)


async def fetch_ids(
    rows: list[dict[str, Any]], chosen: Criteria
) -> tuple[list[str], list[str], dict[str, Any]]:
    """(ids from Recruit's search, ids from listing and filtering locally, the simulator's counters)."""
    app = create_app(SimData.from_dict({"modules": {"Things": rows}}))
    transport = httpx.ASGITransport(app=app)
    plan = plan_fetch(chosen)
    assert isinstance(plan, SearchPlan)
    credentials = Credentials("http://sim", "cid", "secret", "rt")
    async with RecruitClient("http://sim", credentials, transport, retry=RetryPolicy(attempts=1)) as client:
        searched = [
            r["id"] async for page in client.search_records("Things", plan.criteria, per_page=3) for r in page
        ]
        listed = [r async for page in client.list_records("Things", per_page=5) for r in page]
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        stats = (await http.get("/_sim/stats")).json()
    return searched, local_ids(listed, chosen), stats


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_search_through_the_simulator_selects_what_listing_and_filtering_selects(case: Case) -> None:
    """Through HTTP: the client URL-encodes the criteria, the simulator pages its answer (3 a page)."""
    rows, chosen = case
    if chosen is None or not isinstance(plan_fetch(chosen), SearchPlan):
        event("listed: nothing to compare")
        return
    searched, filtered, stats = asyncio.run(fetch_ids(rows, chosen))
    event(f"selected {describe(filtered, rows)}")
    assert searched == filtered
    assert stats["by_path"].get("/recruit/v2/Things/search", 0) >= 1
