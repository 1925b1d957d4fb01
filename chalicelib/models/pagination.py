"""The one pagination helper: a DynamoDB query page and an opaque cursor bound to its partition and
signed (an HMAC under the settings' cursor key), so a forged or altered cursor never reaches storage."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.indexes import Index
from pynamodb.models import Model

from chalicelib.domain.errors import invalid_field
from chalicelib.settings import SettingsError, get_settings

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAC_BYTES = 16


@dataclass(frozen=True)
class PageRequest:
    cursor: str | None = None
    size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


def paginate(
    source: type[Model] | Index,
    hash_key: Any,
    request: PageRequest,
    range_bounds: tuple[str, str] | None = None,
    **query: Any,
) -> Page:
    """One page of `source.query(hash_key, **query)`; `next` is None exactly when nothing follows.
    With a range key condition, `range_bounds` (low, high) keeps a cursor inside it (DynamoDB refuses
    a start key outside the condition)."""
    names = _key_names(source)
    start = _decode(request.cursor, source, names, hash_key)
    if start is not None and range_bounds is not None:
        sort_key = start[_range_name(source)]
        number = int if "N" in sort_key else str  # a numeric key's bounds compare as numbers
        low, high = range_bounds
        if not number(low) <= number(_value(sort_key)) <= number(high):
            raise invalid_field("cursor", "is not a cursor from this list")
    results = list(source.query(hash_key, limit=request.size + 1, last_evaluated_key=start, **query))
    if len(results) <= request.size:
        return Page(items=results, next=None)
    items = results[: request.size]
    return Page(items=items, next=_encode(items[-1], source, names))


def paginate_filtered(
    source: type[Model],
    hash_key: Any,
    request: PageRequest,
    condition: Any,
    examined: int = 2000,
    **query_options: Any,
) -> Page:
    """One page of the items of `hash_key` that match `condition`, reading about `examined` items at most
    to find them, so a rare match never reads a whole partition in one request: such a page may hold
    fewer items than asked (even none) and still have a `next`."""
    names = _key_names(source)
    start = _decode(request.cursor, source, names, hash_key)
    query = source.query(
        hash_key,
        filter_condition=condition,
        last_evaluated_key=start,
        page_size=min(examined, max(request.size + 1, 250)),  # a rare match costs few requests
        **query_options,
    )
    pages = query.page_iter
    items: list[Model] = []
    read = 0
    for raw in pages:
        items += [source.from_raw_data(item) for item in raw.get("Items", [])]
        read += raw.get("ScannedCount", 0)
        if len(items) > request.size:
            kept = items[: request.size]
            return Page(items=kept, next=_encode(kept[-1], source, names))
        if pages.last_evaluated_key is None or read >= examined:
            break
    following = pages.last_evaluated_key
    return Page(
        items=items,
        next=_encode_key(source, {name: following[name] for name in names}) if following else None,
    )


def _key_names(source: type[Model] | Index) -> tuple[str, ...]:
    """Hash key first, then the other key attributes DynamoDB needs to resume the query."""
    if isinstance(source, Index):
        model = source._model
        index_keys = [a.attr_name for a in source.Meta.attributes.values() if a.is_hash_key]
        index_keys += [a.attr_name for a in source.Meta.attributes.values() if a.is_range_key]
    else:
        model, index_keys = source, []
    table_keys = [model._hash_keyname] + ([model._range_keyname] if model._range_keyname else [])
    return tuple(dict.fromkeys(index_keys + table_keys))


def _range_name(source: type[Model] | Index) -> str:
    """The range key the query's condition is on: the index's own, or the table's."""
    if isinstance(source, Index):
        return next(a.attr_name for a in source.Meta.attributes.values() if a.is_range_key)
    return source._range_keyname


def _encode(item: Model, source: type[Model] | Index, names: tuple[str, ...]) -> str:
    serialized = item.serialize()
    return _encode_key(source, {name: serialized[name] for name in names})


def _encode_key(source: type[Model] | Index, key: dict[str, Any]) -> str:
    payload = _b64(json.dumps(key, separators=(",", ":")).encode())
    return f"{payload}.{_b64(_mac(source, payload))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(source: type[Model] | Index, payload: str) -> bytes:
    """The signature of a cursor of `source` (its table, and index): one list's cursor is no other's."""
    secret = get_settings().cursor_key
    if not secret:
        raise SettingsError("COLONY_CURSOR_KEY is not set: cursors cannot be signed")
    signed = f"{_source_name(source)}|{payload}".encode()
    return hmac.new(secret.encode(), signed, hashlib.sha256).digest()[:MAC_BYTES]


def _source_name(source: type[Model] | Index) -> str:
    if isinstance(source, Index):
        return f"{source._model.Meta.table_name}/{source.Meta.index_name}"
    return source.Meta.table_name


def _decode(
    cursor: str | None, source: type[Model] | Index, names: tuple[str, ...], hash_key: Any
) -> dict[str, Any] | None:
    """The start key a cursor names, if it is one this query produced; anything else is a 400."""
    if not cursor:
        return None
    payload, _, mac = cursor.partition(".")
    try:
        signed = hmac.compare_digest(_unb64(mac), _mac(source, payload))
        key = json.loads(_unb64(payload)) if signed else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = None
    if not _is_key(key, _key_kinds(source, names)) or _value(key[names[0]]) != str(hash_key):
        raise invalid_field("cursor", "is not a cursor from this list")
    return key


def _key_kinds(source: type[Model] | Index, names: tuple[str, ...]) -> dict[str, str]:
    """Each key attribute's DynamoDB type ("S" or "N")."""
    model = source._model if isinstance(source, Index) else source
    return {name: model.get_attributes()[name].attr_type for name in names}


def _is_key(key: Any, kinds: dict[str, str]) -> bool:
    if not isinstance(key, dict) or set(key) != set(kinds):
        return False
    return all(_is_attribute(key[name], kind) for name, kind in kinds.items())


def _is_attribute(attribute: Any, kind: str) -> bool:
    """A key attribute of type `kind` in DynamoDB's JSON form: {"S": text} or {"N": digits}."""
    if not isinstance(attribute, dict) or list(attribute) != [kind]:
        return False
    value = attribute[kind]
    if not isinstance(value, str):
        return False
    return kind == "S" or re.fullmatch(r"-?[0-9]{1,38}", value) is not None


def _value(attribute: dict[str, Any]) -> Any:
    return next(iter(attribute.values()))
