"""Recording a change in the audit log, in the change's own transaction: the entry is written exactly
when the change is, and a change that fails leaves none."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.rules.audit_changes import described
from chalicelib.models.audit import AuditEntry, add_to, new_entry, put_item

OPERATOR = "operator"
ACCOUNT_OBJECTS = ("user", "api_key")  # the live account's in either mode, and so are their entries


def record(
    write: TransactWrite,
    caller: Caller,
    action: str,
    object_type: str,
    object_id: int | str,
    changes: Mapping[str, tuple[Any, Any]],
) -> AuditEntry:
    """Add the entry for `action` on `object_type` `object_id` to `write`, after the items already in
    it; `changes` is `{field: (before, after)}` (secrets are masked, unchanged fields left out)."""
    entry = _entry(caller, action, object_type, object_id, changes)
    add_to(write, entry)
    return entry


def record_item(
    caller: Caller,
    action: str,
    object_type: str,
    object_id: int | str,
    changes: Mapping[str, tuple[Any, Any]],
) -> dict[str, Any]:
    """The same entry as a raw transaction item, for a transaction built of raw items."""
    return put_item(_entry(caller, action, object_type, object_id, changes))


def actor_of(caller: Caller) -> str:
    return OPERATOR if caller.user is None else str(caller.user)


def key_of(caller: Caller) -> str | None:
    """The credential the request used: its API key, or the person's session (None: the operator)."""
    if caller.api_key is not None:
        return f"api_key:{caller.api_key}"
    if caller.session is not None:
        return f"session:{caller.session}"
    return None


def _entry(
    caller: Caller,
    action: str,
    object_type: str,
    object_id: int | str,
    changes: Mapping[str, tuple[Any, Any]],
) -> AuditEntry:
    now = clock.now()
    return new_entry(
        company=caller.account if object_type in ACCOUNT_OBJECTS else caller.company,
        at=now,
        at_text=clock.iso(now) or "",
        actor=actor_of(caller),
        key=key_of(caller),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=described({name: (_plain(b), _plain(a)) for name, (b, a) in changes.items()}),
    )


def _plain(value: Any) -> Any:
    """A value as JSON keeps it: a moment as ISO text, a set as a sorted list."""
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return value
