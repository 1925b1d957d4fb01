"""API keys: issued to a user (shown once), listed without their secret, revoked by id."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import TEST_KEY_PREFIX, Caller, new_key
from chalicelib.domain.accounts.test_tenants import open_test_tenant
from chalicelib.domain.accounts.users import get_user
from chalicelib.domain.errors import NotFound, invalid_field
from chalicelib.domain.rules.modes import LIVE, MODES, TEST
from chalicelib.models.api_keys import ApiKey
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str


def issue_key(
    caller: Caller, user_id: int | None = None, name: str | None = None, mode: str | None = None
) -> IssuedKey:
    """A new key for the caller, or for another user of the company when the caller is an admin; a test
    key (`ck_test_…`) acts in the company's test tenant, opened with the first of them."""
    mode = LIVE if mode is None else mode
    if mode not in MODES:
        raise invalid_field("mode", f"must be one of {', '.join(MODES)}")
    target = user_id if user_id is not None else caller.user
    if target is None:
        raise invalid_field("user", "is required")
    if target != caller.user:
        caller.require("admin")
    get_user(caller, target)
    if name is not None and len(name.strip()) > 100:
        raise invalid_field("name", "must be at most 100 characters")
    if mode == TEST:
        open_test_tenant(caller.account)
    key_id = allocate_ids("api_key")[0]
    issued = new_key(key_id, TEST_KEY_PREFIX) if mode == TEST else new_key(key_id)
    key = ApiKey(
        id=key_id,
        company=caller.account,
        user=target,
        mode=mode,
        name=(name or "").strip() or None,
        secret_hash=issued.secret_hash,
        date_created=clock.now(),
    )
    key.save(condition=ApiKey.id.does_not_exist())
    return IssuedKey(key=key, token=issued.token)


def list_keys(caller: Caller, page: PageRequest) -> Page:
    """Admins see every key of the company, others their own."""
    only_own = None if caller.is_admin else ApiKey.user == caller.user
    return paginate(ApiKey.by_company, caller.account, page, filter_condition=only_own)


def revoke_key(caller: Caller, key_id: int) -> None:
    key = ApiKey.get_or_none(key_id)
    if key is None or key.company != caller.account:
        raise NotFound(f"There is no API key {key_id}.")
    if key.user != caller.user:
        caller.require("admin")
    key.delete()
