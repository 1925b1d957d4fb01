"""Reading the audit log: a company's entries, newest first, by actor, object or object type, and
within a span of time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.audit.entries import OPERATOR
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.stats.reading import parse_moment
from chalicelib.models.audit import AuditEntry, actor_key, object_key, type_key
from chalicelib.models.pagination import Page, PageRequest, paginate

_OBJECT = re.compile(r"([a-z][a-z_]{0,39})(?::([0-9]{1,18}))?")
_LAST = "#~"  # sorts after every `#<id>` of its second


@dataclass(frozen=True)
class Filters:
    """What `GET /audit` was asked for, as given (each None when not)."""

    actor: str | None = None
    object: str | None = None
    start: str | None = None
    end: str | None = None


def list_entries(caller: Caller, filters: Filters, page: PageRequest) -> Page:
    """Admins only: the entries that match every filter given, newest first."""
    caller.require("admin")
    actor = _actor(filters.actor)
    tz = get_company(caller).timezone
    start = parse_moment(filters.start, "start", tz)
    end = parse_moment(filters.end, "end", tz, end=True)
    if start and end and start > end:
        raise invalid_field("end", "must not be before start")
    bounds = (start or "0", (end or "9") + _LAST)
    source, hash_key = _source(caller.company, actor, filters.object)
    also = AuditEntry.actor == actor if actor is not None and filters.object is not None else None
    return paginate(
        source,
        hash_key,
        page,
        range_bounds=bounds,
        range_key_condition=AuditEntry.sort.between(*bounds),
        filter_condition=also,
        scan_index_forward=False,
    )


def _actor(value: str | None) -> str | None:
    """A user id, or `operator` (the platform's CLI)."""
    if value is None or value == OPERATOR:
        return value
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise invalid_field("actor", "must be a user id or operator")
    return str(int(value))


def _source(company: int, actor: str | None, object_ref: str | None) -> tuple[Any, str | int]:
    """The index (and its key) that reads the fewest entries for these filters."""
    if object_ref is not None:
        found = _OBJECT.fullmatch(object_ref)
        if found is None:
            raise invalid_field("object", "must be a type (deployment) or a type and id (deployment:42)")
        kind, object_id = found.groups()
        if object_id is None:
            return AuditEntry.by_type, type_key(company, kind)
        return AuditEntry.by_object, object_key(company, kind, str(int(object_id)))
    if actor is not None:
        return AuditEntry.by_actor, actor_key(company, actor)
    return AuditEntry, company
