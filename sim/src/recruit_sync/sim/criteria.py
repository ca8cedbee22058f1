"""Search criteria as Recruit's `GET /{module}/search?criteria=` takes them.

Grammar (whitespace allowed around `and` / `or`, which are case-insensitive; `and` binds tighter):

    expr      := and_expr ("or" and_expr)*
    and_expr  := group ("and" group)*
    group     := "(" (expr | condition) ")"
    condition := FIELD ":" ("equals" | "starts_with") ":" value ("," value)*

In a value a backslash takes the next character literally, so `\\(`, `\\)`, `\\,` and `\\\\` stand for
`(`, `)`, `,` and a backslash; an unescaped `,` separates alternatives (the condition matches any of
them) and an unescaped `(` is an error. At most 10 conditions. Comparison is case-insensitive on the
text form of the field: booleans as `true` / `false`, numbers as written (`5` also matches `5.0`),
lookups (`{"name", "id"}`) by name or id, lists by any element. A missing or null field matches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Protocol

MAX_CONDITIONS: Final = 10
OPERATORS: Final = ("equals", "starts_with")
_FIELD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.]*")


class Matcher(Protocol):
    def matches(self, record: dict[str, Any]) -> bool: ...


class CriteriaError(ValueError):
    """The criteria text is not something Recruit would accept."""


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    operator: str
    values: tuple[str, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        wanted = [v.casefold() for v in self.values]
        for text in text_forms(record.get(self.field)):
            text = text.casefold()
            if self.operator == "equals":
                if text in wanted:
                    return True
            elif any(text.startswith(w) for w in wanted):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Junction:
    operator: str  # "and" | "or"
    parts: tuple[Criteria, ...]

    def matches(self, record: dict[str, Any]) -> bool:
        if self.operator == "and":
            return all(part.matches(record) for part in self.parts)
        return any(part.matches(record) for part in self.parts)


Criteria = Condition | Junction


def text_forms(value: object) -> list[str]:
    """The texts a field value compares as."""
    if value is None:
        return []
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, float):
        return [repr(value), str(int(value))] if value.is_integer() else [repr(value)]
    if isinstance(value, dict):
        return [str(value[k]) for k in ("name", "id") if value.get(k) is not None]
    if isinstance(value, list):
        return [text for item in value for text in text_forms(item)]
    return [str(value)]


def parse_criteria(text: str) -> Criteria:
    """Parse criteria text; raises CriteriaError naming the problem."""
    parser = _Parser(text)
    result = parser.expr()
    parser.skip_space()
    if parser.pos != len(text):
        rest = text[parser.pos : parser.pos + 20]
        raise CriteriaError(f"unexpected text at position {parser.pos}: {rest!r}")
    if parser.conditions > MAX_CONDITIONS:
        raise CriteriaError(f"{parser.conditions} conditions given, at most {MAX_CONDITIONS} allowed")
    return result


def escape_value(value: str) -> str:
    """The inverse of value parsing: escape `\\`, `(`, `)` and `,`."""
    return re.sub(r"([\\(),])", r"\\\1", value)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.conditions = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def keyword(self, word: str) -> bool:
        self.skip_space()
        end = self.pos + len(word)
        if self.text[self.pos : end].lower() == word and self.text[end : end + 1] in ("(", " "):
            self.pos = end
            return True
        return False

    def expr(self) -> Criteria:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Junction("or", tuple(parts))

    def and_expr(self) -> Criteria:
        parts = [self.group()]
        while self.keyword("and"):
            parts.append(self.group())
        return parts[0] if len(parts) == 1 else Junction("and", tuple(parts))

    def group(self) -> Criteria:
        self.skip_space()
        if self.text[self.pos : self.pos + 1] != "(":
            raise CriteriaError(f"expected '(' at position {self.pos}")
        self.pos += 1
        self.skip_space()
        inner = self.expr() if self.text[self.pos : self.pos + 1] == "(" else self.condition()
        self.skip_space()
        if self.text[self.pos : self.pos + 1] != ")":
            raise CriteriaError(f"expected ')' at position {self.pos}")
        self.pos += 1
        return inner

    def condition(self) -> Condition:
        match = _FIELD.match(self.text, self.pos)
        if match is None:
            raise CriteriaError(f"expected a field name at position {self.pos}")
        field = match.group()
        self.pos = match.end()
        operator = self._until_colon()
        if operator not in OPERATORS:
            raise CriteriaError(f"operator {operator!r} is not supported (use equals or starts_with)")
        self.conditions += 1
        return Condition(field, operator, self._values())

    def _until_colon(self) -> str:
        if self.text[self.pos : self.pos + 1] != ":":
            raise CriteriaError(f"expected ':' at position {self.pos}")
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            raise CriteriaError(f"expected ':' after the operator at position {self.pos}")
        word = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return word

    def _values(self) -> tuple[str, ...]:
        values: list[str] = []
        current: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise CriteriaError("criteria end inside a value (missing ')')")
            char = text[self.pos]
            if char == "\\":
                if self.pos + 1 >= len(text):
                    raise CriteriaError("criteria end with a lone backslash")
                current.append(text[self.pos + 1])
                self.pos += 2
                continue
            if char == "(":
                raise CriteriaError(f"unescaped '(' in a value at position {self.pos}")
            if char in ",)":
                value = "".join(current)
                if not value:
                    raise CriteriaError(f"empty value at position {self.pos}")
                values.append(value)
                current = []
                if char == ")":
                    return tuple(values)
            else:
                current.append(char)
            self.pos += 1


@dataclass(frozen=True, slots=True)
class WordSearch:
    """`search?word=`: any text field containing the word, case-insensitively."""

    word: str

    def matches(self, record: dict[str, Any]) -> bool:
        word = self.word.casefold()
        return any(isinstance(v, str) and word in v.casefold() for v in record.values())
