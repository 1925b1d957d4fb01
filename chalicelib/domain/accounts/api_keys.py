"""API keys: issued to a user (shown once), listed without their secret, limited (`key_limits`), revoked
by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.domain import clock
from chalicelib.domain.accounts import key_limits
from chalicelib.domain.accounts.auth import Caller, new_key
from chalicelib.domain.accounts.users import get_user
from chalicelib.domain.errors import NotFound, invalid_field
from chalicelib.models.api_keys import ApiKey
from chalicelib.models.base import condition_failed
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str


def issue_key(
    caller: Caller,
    user_id: int | None = None,
    name: str | None = None,
    *,
    allowed_ips: list[str] | None = None,
    expires_at: str | None = None,
) -> IssuedKey:
    """A new key for the caller, or for another user of the company when the caller is an admin; it may
    work only from `allowed_ips` and until `expires_at` (see `key_limits`)."""
    target = user_id if user_id is not None else caller.user
    if target is None:
        raise invalid_field("user", "is required")
    if target != caller.user:
        caller.require("admin")
    get_user(caller, target)
    if name is not None and len(name.strip()) > 100:
        raise invalid_field("name", "must be at most 100 characters")
    networks = key_limits.check_networks(allowed_ips)
    expiry = key_limits.check_expiry(expires_at)
    key_id = allocate_ids("api_key")[0]
    issued = new_key(key_id)
    key = ApiKey(
        id=key_id,
        company=caller.company,
        user=target,
        name=(name or "").strip() or None,
        secret_hash=issued.secret_hash,
        date_created=clock.now(),
        allowed_ips=networks,
        expires_at=expiry,
    )
    key.save(condition=ApiKey.id.does_not_exist())
    return IssuedKey(key=key, token=issued.token)


def list_keys(caller: Caller, page: PageRequest) -> Page:
    """Admins see every key of the company, others their own."""
    only_own = None if caller.is_admin else ApiKey.user == caller.user
    return paginate(ApiKey.by_company, caller.company, page, filter_condition=only_own)


def revoke_key(caller: Caller, key_id: int) -> None:
    _own_key(caller, key_id).delete()


def limit_key(caller: Caller, key_id: int, changes: dict[str, Any]) -> ApiKey:
    """Change the networks a key works from (`allowed_ips`; None: anywhere), as its owner or an admin
    (as for revoking); without the field the key is as it was."""
    key = _own_key(caller, key_id)
    if "allowed_ips" not in changes:
        return key
    networks = key_limits.check_networks(changes["allowed_ips"])
    action = ApiKey.allowed_ips.set(networks) if networks else ApiKey.allowed_ips.remove()
    try:
        key.update(actions=[action], condition=ApiKey.id.exists())
    except UpdateError as error:
        if condition_failed(error):  # revoked meanwhile
            raise NotFound(f"There is no API key {key_id}.") from None
        raise
    return key


def _own_key(caller: Caller, key_id: int) -> ApiKey:
    """The company's key `key_id`, which the caller owns or, as an admin, may manage; else a 404 (403)."""
    key = ApiKey.get_or_none(key_id)
    if key is None or key.company != caller.company:
        raise NotFound(f"There is no API key {key_id}.")
    if key.user != caller.user:
        caller.require("admin")
    return key
