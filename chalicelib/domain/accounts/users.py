"""Users of a company, their roles, and the rule that a company always keeps one admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import ROLES, Caller, key_names, new_key
from chalicelib.domain.audit.entries import record
from chalicelib.domain.errors import Conflict, NotFound, invalid_field
from chalicelib.domain.rules.addresses import address_key, checked_address
from chalicelib.models.api_keys import ApiKey
from chalicelib.models.base import failed_conditions, transaction
from chalicelib.models.claims import Claim
from chalicelib.models.companies import Company
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.users import User

MAX_KEYS_PER_USER = 20  # a user's keys change with it in one transaction (DynamoDB's limit is 100 items)
_MOST_KEYS_IN_ONE_CHANGE = 40  # keys issued before the bound may be more; a deletion writes two items each


@dataclass(frozen=True)
class NewUser:
    user: User
    api_key: str


def check_email(value: str) -> str:
    """A user's sign-in address: normalised, and lowercased whole (one user per mailbox)."""
    return address_key(checked_address(value, "email"))


def check_role(value: str) -> str:
    if value not in ROLES:
        raise invalid_field("role", f"must be one of {', '.join(ROLES)}")
    return value


def _email_key(company: int, email: str) -> str:
    return f"user-email#{company}#{email}"


def add_new_user(write: TransactWrite, caller: Caller, email: str, role: str) -> NewUser:
    """Add a user of the caller's account and its first API key to `write`, each audited; the email's
    claim within the company comes first."""
    company, now = caller.account, clock.now()
    user = User(
        company=company,
        id=allocate_ids("user")[0],
        email=email,
        role=role,
        date_created=now,
        date_updated=now,
    )
    key_id = allocate_ids("api_key")[0]
    issued = new_key(key_id, names=key_names(company))
    write.save(
        Claim(key=_email_key(company, email), owner=f"user#{user.id}"), condition=Claim.key.does_not_exist()
    )
    write.save(user, condition=User.id.does_not_exist())
    key = ApiKey(
        id=key_id,
        company=company,
        user=user.id,
        name="first key",
        secret_hash=issued.secret_hash,
        date_created=now,
        role=role,
    )
    write.save(key)
    record(write, caller, "user.created", "user", user.id, {"email": (None, email), "role": (None, role)})
    issued_changes = {
        "user": (None, user.id),
        "name": (None, key.name),
        "secret_hash": (None, key.secret_hash),
    }
    record(write, caller, "api_key.issued", "api_key", key_id, issued_changes)
    return NewUser(user=user, api_key=issued.token)


def list_users(caller: Caller, page: PageRequest) -> Page:
    caller.require("admin")
    return paginate(User, caller.account, page)


def get_user(caller: Caller, user_id: int) -> User:
    """A user of the caller's company; members and approvers may read only themselves."""
    user = User.get_or_none(caller.account, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.")
    if user.id != caller.user:
        caller.require("admin")
    return user


def create_user(caller: Caller, email: str, role: str) -> NewUser:
    caller.require("admin")
    email, role = check_email(email), check_role(role)
    try:
        with transaction() as write:
            created = add_new_user(write, caller, email, role)
            if role == "admin":
                write.update(
                    Company(id=caller.account),
                    actions=[Company.admin_count.add(1)],
                    condition=Company.id.exists(),
                )
    except TransactWriteError as error:
        if failed_conditions(error)[:1] == [True]:
            raise Conflict(
                f"A user with the email {email} already exists.", code="duplicate_email"
            ) from error
        raise
    return created


def user_unchanged(user: User) -> Condition:
    """The user as `user` read it: still there, with the same role and no key issued to it since."""
    if user.keys_version is None:
        same_keys = User.keys_version.does_not_exist()
    else:
        same_keys = User.keys_version == user.keys_version
    return (User.role == user.role) & same_keys


def keys_of(user: User) -> list[ApiKey]:
    """The user's API keys, which every change of its role or its deletion keeps in step with it."""
    keys = list(ApiKey.by_company.query(user.company, filter_condition=ApiKey.user == user.id))
    if len(keys) > _MOST_KEYS_IN_ONE_CHANGE:
        raise Conflict(
            f"User {user.id} has {len(keys)} API keys, more than one change can carry; revoke some first.",
            code="too_many_keys",
        )
    return keys


def update_user(caller: Caller, user_id: int, changes: dict[str, Any]) -> User:
    """Change a user's role, and its keys' with it (they carry it); demoting the last admin is refused."""
    caller.require("admin")
    user = get_user(caller, user_id)
    if "role" not in changes or check_role(changes["role"]) == user.role:
        return user
    role = changes["role"]
    now = clock.now()
    keys = keys_of(user)

    def change_role(write: TransactWrite) -> None:
        write.update(
            user, actions=[User.role.set(role), User.date_updated.set(now)], condition=user_unchanged(user)
        )
        for key in keys:
            write.update(key, actions=[ApiKey.role.set(role)], condition=ApiKey.id.exists())
        record(write, caller, "user.role_changed", "user", user.id, {"role": (user.role, role)})

    delta = (role == "admin") - (user.role == "admin")
    _write_with_admin_count(user, change_role, delta, guarded=1 + len(keys))
    user.role, user.date_updated = role, now
    return user


def delete_user(caller: Caller, user_id: int) -> None:
    """Remove a user, its email claim and its API keys (each audited as revoked) in one transaction; the
    last admin cannot be removed."""
    caller.require("admin")
    user = get_user(caller, user_id)
    keys = keys_of(user)

    def delete(write: TransactWrite) -> None:
        write.delete(user, condition=user_unchanged(user))
        for key in keys:
            write.delete(key, condition=ApiKey.id.exists())
        write.delete(Claim(key=_email_key(user.company, user.email)))
        changes = {"email": (user.email, None), "role": (user.role, None)}
        record(write, caller, "user.deleted", "user", user.id, changes)
        for key in keys:
            revoked = {"user": (key.user, None), "name": (key.name, None)}
            record(write, caller, "api_key.revoked", "api_key", key.id, revoked)

    _write_with_admin_count(user, delete, -(user.role == "admin"), guarded=1 + len(keys))


def _write_with_admin_count(user: User, writes: Any, admin_delta: int, guarded: int) -> None:
    """Run `writes` on the user together with the admin count, which may never fall below one; the
    first `guarded` items (the user and its keys) failing their condition is a change meanwhile."""
    try:
        with transaction() as write:
            writes(write)
            if admin_delta:
                keeps_an_admin = Company.admin_count > 1 if admin_delta < 0 else Company.id.exists()
                write.update(
                    Company(id=user.company),
                    actions=[Company.admin_count.add(admin_delta)],
                    condition=keeps_an_admin,
                )
    except TransactWriteError as error:
        failed = failed_conditions(error)
        if failed and failed[-1] and admin_delta < 0:
            raise Conflict("A company must keep at least one admin.", code="last_admin") from error
        if any(failed[:guarded]):
            raise Conflict(
                "The user changed meanwhile; read it again and retry.", code="concurrent_change"
            ) from error
        raise
