"""A refusal's problems land beside the field or section their key path names."""

from __future__ import annotations

from recruit_sync.api.console.messages import GENERAL, place, problems

NAMES = {"selection", "selection.conditions", "selection.conditions.0.value", "selection.pattern", "name"}


def test_each_problem_keeps_its_own_words_even_with_semicolons_inside() -> None:
    message = (
        "selection.conditions.0.operator: 'like' is not an operator; use one of equals, in; "
        "schedule: a weekly schedule needs 'weekday'"
    )
    assert problems(message) == [
        ("selection.conditions.0.operator", "selection.conditions.0.operator: 'like' is not an operator; "
         "use one of equals, in"),
        ("schedule", "schedule: a weekly schedule needs 'weekday'"),
    ]  # fmt: skip


def test_a_message_without_a_key_path_is_general() -> None:
    assert problems("the history service is not answering") == [
        (GENERAL, "the history service is not answering")
    ]


def test_a_problem_goes_to_the_closest_enclosing_name_on_the_page() -> None:
    placed = place(
        "selection.conditions.0.value.1: 'x' is not a number; selection.conditions.4.field: bad; "
        "selection.pattern: condition 2 is not used (position 7); name: a sync named 'a' already exists",
        NAMES,
    )
    assert placed == {
        "selection.conditions.0.value": ["selection.conditions.0.value.1: 'x' is not a number"],
        "selection.conditions": ["selection.conditions.4.field: bad"],
        "selection.pattern": ["selection.pattern: condition 2 is not used (position 7)"],
        "name": ["name: a sync named 'a' already exists"],
    }


def test_what_names_nothing_on_the_page_goes_above_the_form() -> None:
    placed = place(
        "(spec): options.exclude_converted applies to the Candidates module only; zzz: unknown key", NAMES
    )
    assert placed == {
        GENERAL: [
            "(spec): options.exclude_converted applies to the Candidates module only",
            "zzz: unknown key",
        ]
    }
