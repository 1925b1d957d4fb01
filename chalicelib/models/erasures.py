"""Erasures: the record of each (counts only, never the person), and the raw reads and rewrites an
erasure makes across the tables: every item of a partition, every string in it redacted (JSON text and
zlib'd answers too), the item written back under its new key when its key named the person."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models import dynamodb
from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.batch import get_items
from chalicelib.models.claims import Claim
from chalicelib.models.expressions import typed

Redact = Callable[[str], str]
MOVING = ("seq", "contact_count")  # what moves under an item being rewritten, so it guards the rewrite


class Erasure(BaseModel):
    """One person erased from a company. `pending_key` holds their number or address only until the
    task has run (the task needs it to find them); the record keeps `person`, their token."""

    Meta = table_meta("erasures")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    channel = UnicodeAttribute()
    person = UnicodeAttribute()
    pending_key = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    task = NumberAttribute(null=True)
    requested_by = NumberAttribute(null=True)
    counts = JSONAttribute(default=dict)  # what changed, by kind: numbers only
    files_deleted = ListAttribute(of=UnicodeAttribute, default=list)
    suppression_kept = BooleanAttribute(default=False)
    error = UnicodeAttribute(null=True)
    date_created = UTCDateTimeAttribute()
    date_completed = UTCDateTimeAttribute(null=True)


def tombstone_key(company: int, token: str) -> str:
    """The key (in `uniques`) that says the person with `token` was erased from `company`."""
    return f"erased-person:{company}:{token}"


def leave_tombstone(company: int, token: str, erasure: int) -> None:
    """Record, for good, that the person was erased (held by the erasure that did it)."""
    Claim(key=tombstone_key(company, token), owner=str(erasure)).save()


def tombstones(people: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """The (company, token) pairs among `people` of people erased: one BatchGetItem per 100 of them."""
    wanted = {tombstone_key(company, token): (company, token) for company, token in people}
    keys = [{"key": {"S": key}} for key in wanted]
    found = get_items(Claim.Meta.table_name, keys, projection=["key"]) if keys else []
    return {wanted[item["key"]["S"]] for item in found}


def partition(table: str, name: str, value: int | str) -> Iterator[dict[str, Any]]:
    """Every item whose hash key `name` is `value`, as DynamoDB holds it, read consistently."""
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": name},
        "ExpressionAttributeValues": {":v": typed(value)},
        "ConsistentRead": True,
    }
    yield from dynamodb.query_items(**request)


def redacted(item: dict[str, Any], redact: Redact, drop: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The item with every string `redact` changes changed and the attributes `drop` removed; None
    when nothing changed."""
    changed = {name: _value(value, redact) for name, value in item.items() if name not in drop}
    return changed if changed != item else None


def _value(value: dict[str, Any], redact: Redact) -> dict[str, Any]:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return {"S": _text(inner, redact)}
    if kind == "SS":
        return {"SS": sorted({redact(text) for text in inner})}
    if kind == "L":
        return {"L": [_value(element, redact) for element in inner]}
    if kind == "M":
        return {"M": {name: _value(element, redact) for name, element in inner.items()}}
    if kind == "B":
        return {"B": packed(inner, redact)}
    return value


def _text(text: str, redact: Redact) -> str:
    """A string, or the JSON document it holds (a number in it that names the person becomes a string)."""
    if text[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except ValueError:
            return redact(text)
        changed = _json(document, redact)
        return text if changed == document else json.dumps(changed)
    return redact(text)


def redacted_document(document: dict[str, Any], redact: Redact) -> dict[str, Any]:
    """A JSON document (an event's payload) with every string, and every number as text, redacted."""
    return _json(document, redact)


def _json(value: Any, redact: Redact) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        text = str(value)
        return value if redact(text) == text else redact(text)
    if isinstance(value, list):
        return [_json(element, redact) for element in value]
    return {name: _json(element, redact) for name, element in value.items()}


def packed(data: bytes, redact: Redact) -> bytes:
    """zlib'd JSON (a kept idempotent answer) redacted and packed again; other bytes unchanged."""
    try:
        text = zlib.decompress(data).decode("utf-8")
    except (zlib.error, UnicodeDecodeError):
        return data
    changed = _text(text, redact)
    return data if changed == text else zlib.compress(changed.encode("utf-8"))


def replacing(table: str, key_names: tuple[str, ...], old: dict[str, Any], new: dict[str, Any]) -> list[Any]:
    """The transaction items that put `new` in place of `old` (under its new key, if its key changed,
    the old one deleted in the same step), only while `old` is as it was read: the same status sequence
    (`seq`, which every status change adds to) or list count (`contact_count`), or at least still there."""
    old_key = {name: old[name] for name in key_names}
    guard: dict[str, Any] = {
        "ConditionExpression": "attribute_exists(#key)",
        "ExpressionAttributeNames": {"#key": key_names[0]},
    }
    moving = next((name for name in MOVING if name in old), None)
    if moving is not None:
        guard = {
            "ConditionExpression": "#seq = :seq",
            "ExpressionAttributeNames": {"#seq": moving},
            "ExpressionAttributeValues": {":seq": old[moving]},
        }
    if all(old[name] == new[name] for name in key_names):
        return [{"Put": {"TableName": table, "Item": new, **guard}}]
    return [
        {"Put": {"TableName": table, "Item": new}},
        {"Delete": {"TableName": table, "Key": old_key, **guard}},
    ]
