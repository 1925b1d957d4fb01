"""What an audit entry keeps of a change: each field that changed, before and after, and never a secret
(a secret is kept as `[changed]` only, or None where there was none)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECRET_FIELDS = frozenset(
    {
        "secret_hash",
        "token",
        "api_key",
        "password",
        "password_hash",
        "callback_secret",
        "callback_secret_previous",
        "unsubscribe_secret",
        "webhook_token",
        "invite_url",
    }
)
MASK = "[changed]"


def is_secret(field: str) -> bool:
    return field in SECRET_FIELDS


def described(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    """`{field: (before, after)}` as the entry keeps it: unchanged fields left out, secrets masked."""
    kept: dict[str, dict[str, Any]] = {}
    for field, (before, after) in sorted(changes.items()):
        if before == after:
            continue
        if is_secret(field):
            kept[field] = {"before": _masked(before), "after": _masked(after)}
        else:
            kept[field] = {"before": before, "after": after}
    return kept


def _masked(value: Any) -> str | None:
    """A secret as the entry shows it: that there was one (`[changed]`), or None when there was none."""
    return None if value is None else MASK
