"""The pattern language: what it accepts, what it means, and how it refuses the rest."""

from __future__ import annotations

import itertools

import pytest

from recruit_sync.contracts.sync_spec import Condition, Operator, SelectCriteria
from recruit_sync.criteria.pattern import Junction, PatternError, Ref, evaluate, parse_pattern


def truth_table(pattern: str, count: int) -> list[bool]:
    expr = parse_pattern(pattern, count)
    return [
        evaluate(expr, lambda n, row=row: row[n - 1])
        for row in itertools.product([False, True], repeat=count)
    ]


def test_the_it_graduates_example_means_it_and_experience_and_either_year() -> None:
    expr = parse_pattern("((1 and 2) and (3 or 4))", 4)
    assert expr == Junction("and", (Ref(1), Ref(2), Junction("or", (Ref(3), Ref(4)))))
    assert truth_table("((1 and 2) and (3 or 4))", 4) == [
        a and b and (c or d) for a, b, c, d in itertools.product([False, True], repeat=4)
    ]


@pytest.mark.parametrize("count", [1, 2, 6])
def test_the_default_pattern_is_every_condition_joined_by_and(count: int) -> None:
    conditions = [Condition(field=f"F{n}", operator=Operator.IS_EMPTY) for n in range(count)]
    default = SelectCriteria(kind="criteria", conditions=conditions).effective_pattern()
    assert parse_pattern(default, count) == (
        Ref(1) if count == 1 else Junction("and", tuple(Ref(n) for n in range(1, count + 1)))
    )


def test_and_binds_tighter_than_or_and_words_ignore_case() -> None:
    assert parse_pattern("1 AND 2 Or 3", 3) == Junction("or", (Junction("and", (Ref(1), Ref(2))), Ref(3)))
    assert truth_table("1 or 2 and 3", 3) == [
        a or (b and c) for a, b, c in itertools.product([False, True], repeat=3)
    ]
    assert truth_table("(1 or 2) and 3", 3) == [
        (a or b) and c for a, b, c in itertools.product([False, True], repeat=3)
    ]


def test_spacing_does_not_matter() -> None:
    assert parse_pattern("((1and2)or3)", 3) == parse_pattern(" ( ( 1  and 2 ) or 3 ) ", 3)


@pytest.mark.parametrize(
    ("pattern", "count", "message", "position"),
    [
        (
            "((1 and 2) or 5)",
            4,
            "condition 5 does not exist (at position 14); the conditions are numbered 1 to 4",
            14,
        ),
        ("1 and 0", 2, "condition 0 does not exist (at position 6)", 6),
        ("1 and 2 and 2", 3, "condition 2 is used twice (at positions 6 and 12)", 12),
        ("1 and 2", 3, "condition 3 is not used", None),
        ("1", 4, "conditions 2, 3 and 4 are not used", None),
        ("(1 and 2", 2, "unbalanced parenthesis at position 0", 0),
        ("((1 and 2)", 2, "unbalanced parenthesis at position 0", 0),
        ("1 and 2)", 2, "unbalanced parenthesis at position 7", 7),
        (") 1", 1, "unbalanced parenthesis at position 0", 0),
        ("1 or 2 xor 3", 3, "unknown word 'xor' at position 7; use 'and' or 'or'", 7),
        ("1 && 2", 2, "unknown character '&' at position 2", 2),
        ("1 2", 2, "expected 'and' or 'or' at position 2", 2),
        ("(1 2)", 2, "expected 'and', 'or' or ')' at position 3", 3),
        ("and 1", 1, "expected a condition number or '(' at position 0, found 'and'", 0),
        ("1 and", 2, "the pattern ends early: a condition number is missing at position 5", 5),
        ("(1 and ())", 2, "empty parentheses at position 7", 7),
        ("   ", 1, "the pattern is empty", None),
    ],
)
def test_errors_name_the_problem_and_its_position(
    pattern: str, count: int, message: str, position: int | None
) -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern(pattern, count)
    assert str(caught.value).startswith(message)
    assert caught.value.position == position


def test_the_first_problem_by_position_is_reported() -> None:
    with pytest.raises(PatternError, match="unbalanced parenthesis at position 0"):
        parse_pattern(") 1 xor 2", 2)
    with pytest.raises(PatternError, match="condition 3 does not exist"):
        parse_pattern("1 or 3 or 2 or 2", 2)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(PatternError, match="nested more than 50 deep"):
        parse_pattern("(" * 500 + "1" + ")" * 500, 1)
    assert parse_pattern("(" * 50 + "1" + ")" * 50, 1) == Ref(1)
