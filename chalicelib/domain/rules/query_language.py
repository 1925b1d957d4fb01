"""Saved-query language: a text filter over contact fields, parsed (never evaluated as code) into a tree.

    query      := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" or ")" | comparison
    comparison := field operator value
    field      := msisdn | first_name | last_name | email | fields.<name> | list | opted_out
    operator   := = | != | ~ | < | <= | > | >=
    value      := "quoted string" | number | true | false

Keywords are case-insensitive. Text compares case-insensitively; `~` means "contains"; `<`, `<=`,
`>`, `>=` compare numerically when both sides are numbers, and a missing value never satisfies them
(a missing value is "" for `=`, `!=` and `~`). `list = 12` is membership of the number in list 12;
`opted_out = true` means an active opt-out from the company (any sender).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from chalicelib.domain.errors import invalid_field

MAX_LENGTH = 2000
MAX_DEPTH = 40
TEXT_FIELDS = ("msisdn", "first_name", "last_name", "email")
OPERATORS = ("=", "!=", "~", "<", "<=", ">", ">=")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"?)
      | (?P<op>!=|<=|>=|=|~|<|>)
      | (?P<paren>[()])
      | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?![\w.]))
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"))?)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_LIST_ID = re.compile(r"[0-9]{1,18}")


class Subject(Protocol):
    """What a query reads about one number."""

    def value(self, field: str) -> str | None: ...

    def in_list(self, list_id: int) -> bool: ...

    def opted_out(self) -> bool: ...


@dataclass(frozen=True)
class Comparison:
    field: str  # msisdn, first_name, ..., fields.<name>, list, opted_out
    operator: str
    value: str | int | bool

    def matches(self, person: Subject) -> bool:
        if self.field == "list":
            inside = person.in_list(int(self.value))
            return inside if self.operator == "=" else not inside
        if self.field == "opted_out":
            return (person.opted_out() == self.value) == (self.operator == "=")
        return _compare((person.value(self.field) or "").strip(), self.operator, str(self.value))


@dataclass(frozen=True)
class Not:
    item: Node

    def matches(self, person: Subject) -> bool:
        return not self.item.matches(person)


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...]

    def matches(self, person: Subject) -> bool:
        return all(item.matches(person) for item in self.items)


@dataclass(frozen=True)
class Any_:
    items: tuple[Node, ...]

    def matches(self, person: Subject) -> bool:
        return any(item.matches(person) for item in self.items)


Node = Comparison | Not | All | Any_


@dataclass(frozen=True)
class Query:
    text: str
    root: Node

    @property
    def lists(self) -> set[int]:
        """The lists the query asks about (`list = N`)."""
        return {int(c.value) for c in _comparisons(self.root) if c.field == "list"}

    @property
    def asks_opted_out(self) -> bool:
        return any(c.field == "opted_out" for c in _comparisons(self.root))

    def matches(self, person: Subject) -> bool:
        return self.root.matches(person)


def _comparisons(node: Node) -> list[Comparison]:
    if isinstance(node, Comparison):
        return [node]
    if isinstance(node, Not):
        return _comparisons(node.item)
    return [c for item in node.items for c in _comparisons(item)]


def _compare(have: str, operator: str, want: str) -> bool:
    if operator in ("=", "!="):
        same = _equal(have, want)
        return same if operator == "=" else not same
    if operator == "~":
        return want.casefold() in have.casefold()
    if not have:
        return False
    left, right = (
        (Decimal(have), Decimal(want))
        if _NUMBER.fullmatch(have) and _NUMBER.fullmatch(want)
        else (have.casefold(), want.casefold())
    )
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]


def _equal(have: str, want: str) -> bool:
    if _NUMBER.fullmatch(have) and _NUMBER.fullmatch(want):
        return Decimal(have) == Decimal(want)
    return have.casefold() == want.casefold()


# ---- parsing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # string, op, paren, number, word, other, end
    text: str
    position: int  # 1-based

    def describe(self) -> str:
        return "the end of the query" if self.kind == "end" else f"{self.text!r}"


class QueryError(Exception):
    def __init__(self, position: int, message: str) -> None:
        super().__init__(f"at position {position}: {message}")
        self.position = position


def parse(text: object, field: str = "query") -> Query:
    """The query `text` means, or a 400 naming `field`, the position and what was expected there."""
    if not isinstance(text, str) or not text.strip():
        raise invalid_field(field, "must be a non-empty text")
    if len(text) > MAX_LENGTH:
        raise invalid_field(field, f"must be at most {MAX_LENGTH} characters")
    try:
        return Query(text, _Parser(text).parse())
    except QueryError as error:
        raise invalid_field(field, str(error)) from None


def _tokens(text: str) -> list[_Token]:
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        found.append(_Token(kind, match.group(kind), match.start(kind) + 1))
    found.append(_Token("end", "", len(text) + 1))
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    def parse(self) -> Node:
        node = self._or()
        token = self._peek()
        if token.kind != "end":
            expected = "AND, OR or ')'" if token.text != ")" else "AND or OR (this ')' closes nothing)"
            raise QueryError(token.position, f"expected {expected}, found {token.describe()}")
        return node

    def _peek(self) -> _Token:
        return self.tokens[self.at]

    def _take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token.kind == "word" and token.text.upper() == word:
            self.at += 1
            return True
        return False

    def _joined(self, keyword: str, part: Callable[[], Node], kind: type) -> Node:
        items = [part()]
        while self._keyword(keyword):
            items.append(part())
        return items[0] if len(items) == 1 else kind(tuple(items))

    def _or(self) -> Node:
        return self._joined("OR", self._and, Any_)

    def _and(self) -> Node:
        return self._joined("AND", self._not, All)

    def _not(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(self._peek().position, f"nested more than {MAX_DEPTH} deep")
        try:
            if self._keyword("NOT"):
                return Not(self._not())
            token = self._peek()
            if token.kind == "paren" and token.text == "(":
                self._take()
                node = self._or()
                closing = self._take()
                if closing.text != ")":
                    raise QueryError(closing.position, f"expected ')', found {closing.describe()}")
                return node
            return self._comparison()
        finally:
            self.depth -= 1

    def _comparison(self) -> Node:
        token = self._take()
        if token.kind != "word" or token.text.upper() in ("AND", "OR", "NOT"):
            raise QueryError(token.position, f"expected a field name or '(', found {token.describe()}")
        name = _field_name(token)
        operator = self._take()
        if operator.kind != "op":
            raise QueryError(
                operator.position,
                f"expected an operator ({' '.join(OPERATORS)}), found {operator.describe()}",
            )
        value = self._take()
        return _checked(name, operator, value)


def _field_name(token: _Token) -> str:
    base, dot, rest = token.text.partition(".")
    if base == "fields":
        name = _unquote(rest) if rest.startswith('"') else rest
        if not name:
            raise QueryError(token.position, "expected a field name after 'fields.', e.g. fields.city")
        return f"fields.{name}"
    if dot or base not in (*TEXT_FIELDS, "list", "opted_out"):
        known = ", ".join((*TEXT_FIELDS, "fields.<name>", "list", "opted_out"))
        raise QueryError(token.position, f"unknown field {token.text!r}; expected one of {known}")
    return base


def _checked(name: str, operator: _Token, value: _Token) -> Comparison:
    if value.kind == "string":
        if not _closed(value.text):
            raise QueryError(value.position, "this quoted text is never closed")
        literal: str | int | bool = _unquote(value.text)
    elif value.kind == "number":
        literal = value.text
    elif value.kind == "word" and value.text.lower() in ("true", "false"):
        literal = value.text.lower() == "true"
    else:
        raise QueryError(
            value.position,
            f"expected a value (a quoted text, a number, true or false), found {value.describe()}",
        )
    if name == "list":
        if operator.text not in ("=", "!=") or not (isinstance(literal, str) and _LIST_ID.fullmatch(literal)):
            raise QueryError(operator.position, "list takes = or != and a list id, e.g. list = 12")
        return Comparison(name, operator.text, int(literal))
    if name == "opted_out":
        if operator.text not in ("=", "!=") or not isinstance(literal, bool):
            raise QueryError(operator.position, "opted_out takes = or != and true or false")
        return Comparison(name, operator.text, literal)
    if isinstance(literal, bool):
        raise QueryError(value.position, f'{name} holds text: quote the value, e.g. "{str(literal).lower()}"')
    return Comparison(name, operator.text, literal)


def _closed(text: str) -> bool:
    escaped = False
    for char in text[1:]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return True
    return False


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])
