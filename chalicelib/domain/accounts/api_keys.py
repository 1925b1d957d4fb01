"""API keys: issued to a user (shown once), listed without their secret, revoked by id."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller, new_key
from chalicelib.domain.accounts.users import get_user
from chalicelib.domain.audit.entries import record
from chalicelib.domain.errors import NotFound, invalid_field
from chalicelib.models.api_keys import ApiKey
from chalicelib.models.base import failed_conditions, transaction
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str


def issue_key(caller: Caller, user_id: int | None = None, name: str | None = None) -> IssuedKey:
    """A new key for the caller, or for another user of the company when the caller is an admin."""
    target = user_id if user_id is not None else caller.user
    if target is None:
        raise invalid_field("user", "is required")
    if target != caller.user:
        caller.require("admin")
    get_user(caller, target)
    if name is not None and len(name.strip()) > 100:
        raise invalid_field("name", "must be at most 100 characters")
    key_id = allocate_ids("api_key")[0]
    issued = new_key(key_id)
    key = ApiKey(
        id=key_id,
        company=caller.company,
        user=target,
        name=(name or "").strip() or None,
        secret_hash=issued.secret_hash,
        date_created=clock.now(),
    )
    with transaction() as write:
        write.save(key, condition=ApiKey.id.does_not_exist())
        changes = {"user": (None, key.user), "name": (None, key.name), "secret_hash": (None, key.secret_hash)}
        record(write, caller, "api_key.issued", "api_key", key.id, changes)
    return IssuedKey(key=key, token=issued.token)


def list_keys(caller: Caller, page: PageRequest) -> Page:
    """Admins see every key of the company, others their own."""
    only_own = None if caller.is_admin else ApiKey.user == caller.user
    return paginate(ApiKey.by_company, caller.company, page, filter_condition=only_own)


def revoke_key(caller: Caller, key_id: int) -> None:
    key = ApiKey.get_or_none(key_id)
    if key is None or key.company != caller.company:
        raise NotFound(f"There is no API key {key_id}.")
    if key.user != caller.user:
        caller.require("admin")
    try:
        with transaction() as write:
            write.delete(key, condition=ApiKey.id.exists())
            changes = {"user": (key.user, None), "name": (key.name, None)}
            record(write, caller, "api_key.revoked", "api_key", key.id, changes)
    except TransactWriteError as error:
        if failed_conditions(error)[:1] == [True]:  # revoked meanwhile
            raise NotFound(f"There is no API key {key_id}.") from error
        raise
