"""The pattern language that combines numbered conditions (SPEC section 3).

    pattern  := or_expr
    or_expr  := and_expr ("or" and_expr)*
    and_expr := operand ("and" operand)*
    operand  := NUMBER | "(" or_expr ")"

``and`` and ``or`` are case-insensitive; ``and`` binds tighter than ``or``, as in Recruit's own search
criteria (so ``1 and 2 or 3`` is ``(1 and 2) or 3``). Every condition 1..N is used exactly once.
Positions in errors are 0-based character offsets into the pattern text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+)|(?P<word>[A-Za-z_]+)|(?P<other>\S))")

MAX_NESTING = 50
Connective = Literal["and", "or"]


class PatternError(ValueError):
    """A pattern that cannot be used; the message names the problem and, where it has one, its position."""

    def __init__(self, problem: str, position: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.position = position


@dataclass(frozen=True, slots=True)
class Ref:
    """Condition ``number`` (1-based, as the user writes it)."""

    number: int


@dataclass(frozen=True, slots=True)
class Junction:
    """Two or more parts joined by one connective (chains of the same connective are flattened)."""

    connective: Connective
    parts: tuple[Expr, ...]


Expr = Ref | Junction


def evaluate(expr: Expr, holds: Callable[[int], bool]) -> bool:
    """The pattern's truth, given whether each condition (by number) holds; short-circuits."""
    if isinstance(expr, Ref):
        return holds(expr.number)
    if expr.connective == "and":
        return all(evaluate(part, holds) for part in expr.parts)
    return any(evaluate(part, holds) for part in expr.parts)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["number", "connective", "open", "close", "unknown", "end"]
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        position, token = match.start(kind), match.group(kind)
        if kind == "number":
            tokens.append(_Token("number", token, position))
        elif kind == "word":
            lowered = token.lower()
            is_connective = lowered in ("and", "or")
            tokens.append(
                _Token(
                    "connective" if is_connective else "unknown",
                    lowered if is_connective else token,
                    position,
                )
            )
        elif token in "()":
            tokens.append(_Token("open" if token == "(" else "close", token, position))
        else:
            tokens.append(_Token("unknown", token, position))
    tokens.append(_Token("end", "", len(text)))
    return tokens


def parse_pattern(text: str, condition_count: int) -> Expr:
    """Parse ``text`` for ``condition_count`` conditions; raises PatternError naming the first problem."""
    if not text.strip():
        raise PatternError("the pattern is empty; give one, or leave it out to join every condition by 'and'")
    parser = _Parser(_tokens(text), condition_count)
    expr = parser.or_expr()
    token = parser.peek()
    if token.kind == "close":
        raise PatternError(f"unbalanced parenthesis at position {token.position}", token.position)
    if token.kind != "end":
        raise PatternError(f"expected 'and' or 'or' at position {token.position}", token.position)
    unused = [n for n in range(1, condition_count + 1) if n not in parser.seen]
    if len(unused) == 1:
        raise PatternError(f"condition {unused[0]} is not used")
    if unused:
        listed = ", ".join(map(str, unused[:-1])) + f" and {unused[-1]}"
        raise PatternError(f"conditions {listed} are not used")
    return expr


class _Parser:
    def __init__(self, tokens: list[_Token], condition_count: int) -> None:
        self.tokens = tokens
        self.at = 0
        self.condition_count = condition_count
        self.seen: dict[int, int] = {}  # condition number -> position of its use
        self.depth = 0  # parentheses open at this point

    def peek(self) -> _Token:
        """The next token; a word or character the language does not have is refused when reached, so
        the first problem by position is the one reported."""
        token = self.tokens[self.at]
        if token.kind == "unknown":
            what = "word" if token.text[0].isalpha() or token.text[0] == "_" else "character"
            hint = "; use 'and' or 'or'" if what == "word" else ""
            raise PatternError(
                f"unknown {what} {token.text!r} at position {token.position}{hint}", token.position
            )
        return token

    def take(self) -> _Token:
        token = self.peek()
        self.at += 1
        return token

    def or_expr(self) -> Expr:
        return self._chain("or", self.and_expr)

    def and_expr(self) -> Expr:
        return self._chain("and", self.operand)

    def _chain(self, connective: Connective, part: Callable[[], Expr]) -> Expr:
        parts: list[Expr] = []
        while True:
            expr = part()
            # ((1 and 2) and 3) is one flat 'and' of three: the same truth, and shorter search criteria.
            if isinstance(expr, Junction) and expr.connective == connective:
                parts.extend(expr.parts)
            else:
                parts.append(expr)
            token = self.peek()
            if token.kind != "connective" or token.text != connective:
                break
            self.take()
        return parts[0] if len(parts) == 1 else Junction(connective, tuple(parts))

    def operand(self) -> Expr:
        token = self.take()
        if token.kind == "number":
            return self._ref(token)
        if token.kind == "open":
            if self.peek().kind == "close":
                raise PatternError(f"empty parentheses at position {token.position}", token.position)
            self.depth += 1
            if self.depth > MAX_NESTING:  # the parser recurses per level; keep far from Python's limit
                raise PatternError(
                    f"parentheses nested more than {MAX_NESTING} deep at position {token.position}",
                    token.position,
                )
            expr = self.or_expr()
            self.depth -= 1
            closing = self.peek()
            if closing.kind == "end":
                raise PatternError(f"unbalanced parenthesis at position {token.position}", token.position)
            if closing.kind != "close":
                where = closing.position
                raise PatternError(f"expected 'and', 'or' or ')' at position {where}", where)
            self.take()
            return expr
        if token.kind == "close" and self.depth == 0:
            raise PatternError(f"unbalanced parenthesis at position {token.position}", token.position)
        if token.kind == "end":
            where = token.position
            raise PatternError(
                f"the pattern ends early: a condition number is missing at position {where}", where
            )
        raise PatternError(
            f"expected a condition number or '(' at position {token.position}, found '{token.text}'",
            token.position,
        )

    def _ref(self, token: _Token) -> Ref:
        number, position = int(token.text), token.position
        if not 1 <= number <= self.condition_count:
            numbered = (
                f"the conditions are numbered 1 to {self.condition_count}"
                if self.condition_count > 1
                else "there is only condition 1"
            )
            raise PatternError(
                f"condition {number} does not exist (at position {position}); {numbered}", position
            )
        if number in self.seen:
            first = self.seen[number]
            raise PatternError(
                f"condition {number} is used twice (at positions {first} and {position})", position
            )
        self.seen[number] = position
        return Ref(number)
