"""Smart-list logic: ALL, ANY, or an expression like `1 and (2 or 3) and not 4`, parsed into a tree."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from app.domain.errors import DomainError, ErrorCode


@dataclass(frozen=True, slots=True)
class Ref:
    """Filter number `number` (1-based, as the client writes it)."""

    number: int


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Ref | Not | And | Or

_TOKEN = re.compile(r"\s*(?:(\d+)|(\()|(\))|([A-Za-z]+)|(\S))")
_WORDS = {"and", "or", "not"}


def every(count: int) -> Node:
    """ALL: every filter holds."""
    return And(tuple(Ref(n) for n in range(1, count + 1)))


def any_of(count: int) -> Node:
    """ANY: at least one filter holds."""
    return Or(tuple(Ref(n) for n in range(1, count + 1)))


def holds(node: Node, results: Sequence[bool]) -> bool:
    """The value of `node` given each filter's result (results[0] is filter 1)."""
    if isinstance(node, Ref):
        return results[node.number - 1]
    if isinstance(node, Not):
        return not holds(node.child, results)
    if isinstance(node, And):
        return all(holds(c, results) for c in node.children)
    return any(holds(c, results) for c in node.children)


def depth(node: Node) -> int:
    """Nesting depth: a filter number is 1, each `not`, `and` or `or` level adds one."""
    if isinstance(node, Ref):
        return 1
    if isinstance(node, Not):
        return 1 + depth(node.child)
    return 1 + max((depth(c) for c in node.children), default=0)


def parse(text: str, filter_count: int, field: str = "logic", max_depth: int = 10) -> Node:
    """Parse an advanced expression over filter numbers 1..filter_count; `not` binds tighter than `and`, `and`
    tighter than `or`. Raises DomainError (INVALID_LOGIC at `field`) naming the bad token and its position, or
    LIMIT_EXCEEDED when parentheses and `not`s nest deeper than `max_depth` (checked while parsing, so a
    pathological expression never recurses far)."""
    return _Parser(text, filter_count, field, max_depth).parse()


class _Parser:
    """Recursive descent over (kind, text, position) tokens."""

    def __init__(self, text: str, filter_count: int, field: str, max_depth: int) -> None:
        self.text = text
        self.filter_count = filter_count
        self.field = field
        self.max_depth = max_depth
        self.nesting = 0
        self.tokens = self._tokens(text)
        self.at = 0

    def _tokens(self, text: str) -> list[tuple[str, str, int]]:
        tokens: list[tuple[str, str, int]] = []
        for match in _TOKEN.finditer(text):
            number, open_, close, word, other = match.groups()
            start = match.start(match.lastindex or 0)
            if number is not None:
                tokens.append(("number", number, start))
            elif open_ or close:
                tokens.append((open_ or close, open_ or close, start))
            elif word is not None and word.lower() in _WORDS:
                tokens.append((word.lower(), word, start))
            else:
                self._fail(word or other, start, "a filter number, 'and', 'or', 'not', '(' or ')'")
        return tokens

    def _fail(self, token: str | None, position: int, expected: str) -> NoReturn:
        found = f"'{token}' at position {position + 1}" if token is not None else "the end of the expression"
        raise DomainError.of(ErrorCode.INVALID_LOGIC, f"Expected {expected}, found {found}.", self.field)

    def _peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def _expect_fail(self, expected: str) -> NoReturn:
        if self.at < len(self.tokens):
            _, token, position = self.tokens[self.at]
            self._fail(token, position, expected)
        self._fail(None, len(self.text), expected)

    def parse(self) -> Node:
        node = self._or()
        if self.at < len(self.tokens):
            self._expect_fail("'and', 'or' or ')'" if self._peek() != "(" else "'and' or 'or'")
        return node

    def _or(self) -> Node:
        children = [self._and()]
        while self._peek() == "or":
            self.at += 1
            children.append(self._and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _and(self) -> Node:
        children = [self._factor()]
        while self._peek() == "and":
            self.at += 1
            children.append(self._factor())
        return children[0] if len(children) == 1 else And(tuple(children))

    def _nest(self) -> None:
        self.nesting += 1
        if self.nesting > self.max_depth:
            raise DomainError.of(
                ErrorCode.LIMIT_EXCEEDED, f"Logic nests at most {self.max_depth} deep.", self.field
            )

    def _factor(self) -> Node:
        kind = self._peek()
        if kind == "not":
            self.at += 1
            self._nest()
            node: Node = Not(self._factor())
            self.nesting -= 1
            return node
        if kind == "(":
            self.at += 1
            self._nest()
            node = self._or()
            if self._peek() != ")":
                self._expect_fail("')'")
            self.at += 1
            self.nesting -= 1
            return node
        if kind == "number":
            _, token, position = self.tokens[self.at]
            number = int(token)
            if not 1 <= number <= self.filter_count:
                raise DomainError.of(
                    ErrorCode.INVALID_LOGIC,
                    f"Filter {token} at position {position + 1} does not exist: the list has "
                    f"{self.filter_count} filter(s), numbered from 1.",
                    self.field,
                )
            self.at += 1
            return Ref(number)
        self._expect_fail("a filter number, 'not' or '('")
