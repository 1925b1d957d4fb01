"""Low-level DynamoDB items written from attribute names and Python values: the one place where
placeholders (`#name`, `:name`) and typed values (`{"N": "1"}`) are spelled, for the raw transactions
that PynamoDB cannot mix (the sender's, the receipts', the hour counts')."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

_WORD = re.compile(r"[A-Za-z]\w*")
_WORD_PART = re.compile(r"\W")
_BRACE = re.compile(r"\{(\w+)\}")
_PLACED = re.compile(r"#\w+")
_READER = TypeDeserializer()


def typed(value: int | str) -> dict[str, str]:
    """A number or a string as DynamoDB's typed value."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"only whole numbers and strings are written raw, not {value!r}")
    return {"N": str(value)} if isinstance(value, int) else {"S": str(value)}


def key(**parts: int | str) -> dict[str, dict[str, str]]:
    """An item's key from its attributes' values."""
    return {name: typed(value) for name, value in parts.items()}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level item as Python values (whole numbers as int)."""
    return {name: _plain(_READER.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Update:
    """One UpdateItem as a transaction item, from attribute names and Python values. A condition names
    attributes in braces (`{status} = :expect`); `names` maps a brace's alias to an attribute whose name
    is not a word (`{scope}` for `sender:ACME`). Values are given by label and come out typed."""

    def __init__(self, table: str, item_key: dict[str, Any]) -> None:
        self.table, self.key = table, item_key
        self._names: dict[str, str] = {}
        self._sets: list[str] = []
        self._adds: list[str] = []
        self._removes: list[str] = []
        self._values: dict[str, Any] = {}
        self._condition: str | None = None
        self._condition_values: dict[str, Any] = {}

    def set(self, attribute: str, value: int | str) -> Update:
        self._sets.append(f"{self._name(attribute)} = {self._value(attribute, value)}")
        return self

    def set_from(self, attribute: str, source: str, default: int | str) -> Update:
        """`attribute` takes `source`'s value if that exists, else `default` (`if_not_exists`)."""
        value = self._value(attribute, default)
        self._sets.append(f"{self._name(attribute)} = if_not_exists({self._name(source)}, {value})")
        return self

    def set_once(self, attribute: str, value: int | str) -> Update:
        """`attribute` takes `value` unless it already has one."""
        return self.set_from(attribute, attribute, value)

    def add(self, attribute: str, n: int) -> Update:
        self._adds.append(f"{self._name(attribute)} {self._value(attribute, n)}")
        return self

    def remove(self, attribute: str) -> Update:
        self._removes.append(self._name(attribute))
        return self

    def when(self, condition: str, names: dict[str, str] | None = None, **values: int | str) -> Update:
        """The write happens only if `condition` holds (replacing any condition set before)."""
        aliases = names or {}
        self._condition = _BRACE.sub(lambda m: self._name(aliases.get(m.group(1), m.group(1))), condition)
        self._condition_values = {f":{label}": typed(v) for label, v in values.items()}
        if set(self._condition_values) & set(self._values):
            raise ValueError(f"a condition's labels {sorted(values)} repeat the update's")
        return self

    def action(self) -> dict[str, Any]:
        clauses = [("SET ", self._sets), ("ADD ", self._adds), ("REMOVE ", self._removes)]
        expression = " ".join(word + ", ".join(parts) for word, parts in clauses if parts)
        update: dict[str, Any] = {"TableName": self.table, "Key": self.key, "UpdateExpression": expression}
        used = expression
        if self._condition is not None:
            update["ConditionExpression"] = self._condition
            used += " " + self._condition
        placed = set(_PLACED.findall(used))
        update["ExpressionAttributeNames"] = {p: a for a, p in self._names.items() if p in placed}
        values = {**self._values, **self._condition_values}
        if values:
            update["ExpressionAttributeValues"] = values
        return {"Update": update}

    def _name(self, attribute: str) -> str:
        if attribute not in self._names:
            word = attribute if _WORD.fullmatch(attribute) else f"_{len(self._names)}"
            self._names[attribute] = f"#{word}"
        return self._names[attribute]

    def _value(self, label: str, value: int | str) -> str:
        placeholder = f":{_WORD_PART.sub('_', label)}"
        while placeholder in self._values or placeholder in self._condition_values:
            placeholder += "_"
        self._values[placeholder] = typed(value)
        return placeholder
