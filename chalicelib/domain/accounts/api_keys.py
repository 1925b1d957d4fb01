"""API keys: issued to a user (shown once), listed without their secret, limited (`key_limits`), revoked
by id."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import clock
from chalicelib.domain.accounts import key_limits
from chalicelib.domain.accounts.auth import KEY_PREFIX, TEST_KEY_PREFIX, Caller, key_names, new_key
from chalicelib.domain.accounts.test_tenants import open_test_tenant
from chalicelib.domain.accounts.users import MAX_KEYS_PER_USER, get_user, keys_of, user_unchanged
from chalicelib.domain.audit.entries import record
from chalicelib.domain.errors import Conflict, NotFound, invalid_field
from chalicelib.domain.rules.modes import LIVE, MODES, TEST
from chalicelib.models.api_keys import ApiKey
from chalicelib.models.base import failed_conditions, transaction
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.users import User


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str


def issue_key(
    caller: Caller,
    user_id: int | None = None,
    name: str | None = None,
    mode: str | None = None,
    *,
    allowed_ips: list[str] | None = None,
    expires_at: str | None = None,
) -> IssuedKey:
    """A new key for the caller, or for another user of the company when the caller is an admin; a test
    key (`ck_test_…`) acts in the company's test tenant, opened with the first of them. It may work only
    from `allowed_ips` and until `expires_at` (see `key_limits`). It carries its user's role, written
    with the user's `keys_version` so a role change meanwhile cannot miss it."""
    mode = LIVE if mode is None else mode
    if mode not in MODES:
        raise invalid_field("mode", f"must be one of {', '.join(MODES)}")
    target = user_id if user_id is not None else caller.user
    if target is None:
        raise invalid_field("user", "is required")
    if target != caller.user:
        caller.require("admin")
    user = get_user(caller, target)
    if name is not None and len(name.strip()) > 100:
        raise invalid_field("name", "must be at most 100 characters")
    networks = key_limits.check_networks(allowed_ips)
    expiry = key_limits.check_expiry(expires_at)
    key_limits.check_may_manage_keys(_calling_key(caller), mode)
    if len(keys_of(user)) >= MAX_KEYS_PER_USER:
        raise Conflict(
            f"User {user.id} has {MAX_KEYS_PER_USER} API keys, the most a user may have; revoke one first.",
            code="too_many_keys",
        )
    if mode == TEST:
        open_test_tenant(caller.account)
    key_id = allocate_ids("api_key")[0]
    prefix = TEST_KEY_PREFIX if mode == TEST else KEY_PREFIX
    issued = new_key(key_id, prefix, key_names(caller.account))
    key = ApiKey(
        id=key_id,
        company=caller.account,
        user=target,
        mode=mode,
        name=(name or "").strip() or None,
        secret_hash=issued.secret_hash,
        date_created=clock.now(),
        allowed_ips=networks,
        expires_at=expiry,
        role=user.role,
    )
    with _user_changed_meanwhile(), transaction() as write:
        write.save(key, condition=ApiKey.id.does_not_exist())
        write.update(user, actions=[User.keys_version.add(1)], condition=user_unchanged(user))
        changes = {
            "user": (None, key.user),
            "name": (None, key.name),
            "mode": (None, key.mode),
            "secret_hash": (None, key.secret_hash),
            "allowed_ips": (None, networks),
            "expires_at": (None, expiry),
        }
        record(write, caller, "api_key.issued", "api_key", key.id, changes)
    return IssuedKey(key=key, token=issued.token)


def list_keys(caller: Caller, page: PageRequest) -> Page:
    """Admins see every key of the company, others their own."""
    only_own = None if caller.is_admin else ApiKey.user == caller.user
    return paginate(ApiKey.by_company, caller.account, page, filter_condition=only_own)


def revoke_key(caller: Caller, key_id: int) -> None:
    key = _own_key(caller, key_id)
    changes = {"user": (key.user, None), "name": (key.name, None)}
    with _gone_meanwhile(key_id), transaction() as write:
        write.delete(key, condition=ApiKey.id.exists())
        record(write, caller, "api_key.revoked", "api_key", key.id, changes)


def limit_key(caller: Caller, key_id: int, changes: dict[str, Any]) -> ApiKey:
    """Change the networks a key works from (`allowed_ips`; None: anywhere), as its owner or an admin
    (as for revoking); without the field the key is as it was."""
    key = _own_key(caller, key_id)
    if "allowed_ips" not in changes:
        return key
    networks = key_limits.check_networks(changes["allowed_ips"])
    key_limits.check_may_manage_keys(_calling_key(caller), key.mode or LIVE)
    before = list(key.allowed_ips) if key.allowed_ips else None
    if before == networks:
        return key
    action = ApiKey.allowed_ips.set(networks) if networks else ApiKey.allowed_ips.remove()
    with _gone_meanwhile(key_id), transaction() as write:
        write.update(key, actions=[action], condition=ApiKey.id.exists())
        audited = {"allowed_ips": (before, list(networks) if networks else None)}
        record(write, caller, "api_key.updated", "api_key", key.id, audited)
    return ApiKey.get(key_id, consistent_read=True)


@contextlib.contextmanager
def _gone_meanwhile(key_id: int) -> Iterator[None]:
    """A change to a key that was revoked meanwhile is a 404."""
    try:
        yield
    except TransactWriteError as error:
        if failed_conditions(error)[:1] == [True]:
            raise NotFound(f"There is no API key {key_id}.") from error
        raise


@contextlib.contextmanager
def _user_changed_meanwhile() -> Iterator[None]:
    """A key issued while its user's role changed, or another key was issued to it, is a 409."""
    try:
        yield
    except TransactWriteError as error:
        if any(failed_conditions(error)):
            raise Conflict(
                "The user changed meanwhile; read it again and retry.", code="concurrent_change"
            ) from error
        raise


def _calling_key(caller: Caller) -> ApiKey | None:
    """The API key the request came with (None: a person's session, or the operator)."""
    return None if caller.api_key is None else ApiKey.get_or_none(caller.api_key)


def _own_key(caller: Caller, key_id: int) -> ApiKey:
    """The company's key `key_id`, which the caller owns or, as an admin, may manage; else a 404 (403)."""
    key = ApiKey.get_or_none(key_id)
    if key is None or key.company != caller.account:
        raise NotFound(f"There is no API key {key_id}.")
    if key.user != caller.user:
        caller.require("admin")
    return key
