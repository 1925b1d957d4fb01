"""Who is calling: an API key or a person's session (each stored only as a hash), roles, and the caller
every domain function receives."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.domain import clock
from chalicelib.domain.accounts import key_limits
from chalicelib.domain.accounts.test_tenants import open_test_tenant
from chalicelib.domain.errors import Forbidden, Unauthenticated, invalid_field
from chalicelib.domain.rules.modes import LIVE, MODES, TEST, is_test, live_account, tenant_for
from chalicelib.domain.rules.session_expiry import needs_touch, session_alive
from chalicelib.models.api_keys import ApiKey, key_with_company
from chalicelib.models.sessions import Session, session_with_user
from chalicelib.models.users import User

ROLES = ("admin", "approver", "member")
KEY_PREFIX = "ck"  # an API key
TEST_KEY_PREFIX = "ck_test"  # an API key of test mode
SESSION_PREFIX = "cs"  # a person's session
LINK_PREFIX = "cl"  # a one-time link that sets a password
_SCHEMES = ("token", "bearer")


@dataclass(frozen=True)
class Caller:
    """The company and user a request acts for; `user` is None for the operator's CLI. `company` is the
    data scope (a test tenant in test mode); users, keys and roles live on the `account`."""

    company: int
    user: int | None
    role: str
    session: int | None = None  # the session it signed in with; None for an API key
    api_key: int | None = None  # the API key it used; None for a session and the operator
    # The raw item of `company` as this request's authentication read it (`get_company` uses it); it
    # lives only as long as the request's Caller. None: not read with it.
    company_item: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def operator(cls, company: int) -> Caller:
        """The platform operator acting on one company (the admin CLI): an admin without a user."""
        return cls(company=company, user=None, role="admin")

    @property
    def account(self) -> int:
        """The live company whose users, API keys and roles these are."""
        return live_account(self.company)

    @property
    def test(self) -> bool:
        return is_test(self.company)

    @property
    def mode(self) -> str:
        return TEST if self.test else LIVE

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"This needs the role {' or '.join(roles)}; your role is {self.role}.")


@dataclass(frozen=True)
class NewKey:
    """A freshly issued key: `token` is shown to its owner once and never stored."""

    token: str
    secret_hash: str


def new_key(key_id: int, prefix: str = KEY_PREFIX, names: str = "") -> NewKey:
    """`names` leads the secret (and is hashed with it): a session's `<company>.<user>.`, an API key's
    `<company>.`."""
    secret = names + secrets.token_urlsafe(32)
    return NewKey(token=f"{prefix}_{key_id}_{secret}", secret_hash=hash_secret(secret))


def session_names(company: int, user: int) -> str:
    """What a session's token says of whose it is, so one request reads the session and its user."""
    return f"{company}.{user}."


def named_user(secret: str) -> tuple[int, int] | None:
    """The (company, user) a session's secret begins with; None for a token made before they did."""
    named = _leading_ids(secret, 2)
    return None if named is None else (named[0], named[1])


def key_names(company: int) -> str:
    """What an API key's token says of whose it is, so one request reads the key and its company."""
    return f"{company}."


def named_company(secret: str) -> int | None:
    """The company an API key's secret begins with; None for a key made before keys named it."""
    named = _leading_ids(secret, 1)
    return None if named is None else named[0]


def _leading_ids(secret: str, count: int) -> tuple[int, ...] | None:
    """The `count` ids (of at most 18 digits) that lead `secret`, each followed by a dot, with more after
    them; None when it does not begin so."""
    *ids, rest = secret.split(".", count)
    if len(ids) < count or not rest:
        return None
    if not all(i.isascii() and i.isdigit() and len(i) <= 18 for i in ids):
        return None
    return tuple(int(i) for i in ids)


def hash_secret(secret: str) -> str:
    """SHA-256 suits keys of 256 random bits: nothing to brute-force, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str, prefixes: tuple[str, ...]) -> tuple[str, int, str] | None:
    """`<prefix>_<id>_<secret>` → (prefix, id, secret), or None when it is not of that shape; the longest
    prefix that fits wins (`ck_test_5_…` is a test key, `ck_5_…` a live one)."""
    token = token.strip()
    prefix = next((p for p in sorted(prefixes, key=len, reverse=True) if token.startswith(f"{p}_")), None)
    if prefix is None:
        return None
    item_id, _, secret = token[len(prefix) + 1 :].partition("_")
    if not (item_id.isascii() and item_id.isdigit()) or not secret:
        return None
    if len(item_id) > 18:  # no id Colony makes is longer (DynamoDB numbers hold 38 digits)
        return None
    return prefix, int(item_id), secret


def parse_authorization(header: str | None) -> tuple[str, int, str]:
    """`Token ck_<id>_<secret>` (`ck_test_…` in test mode) or `Bearer cs_<id>_<secret>` → (prefix, id,
    secret)."""
    if not header:
        raise Unauthenticated("Send an API key: `Authorization: Token <key>`.", code="missing_api_key")
    scheme, _, token = header.strip().partition(" ")
    parsed = parse_token(token, (KEY_PREFIX, TEST_KEY_PREFIX, SESSION_PREFIX))
    if scheme.lower() not in _SCHEMES or parsed is None:
        raise Unauthenticated("The Authorization header must be `Token <key>`.", code="invalid_api_key")
    return parsed


def authenticate(header: str | None, mode: str | None = None, source_ip: str | None = None) -> Caller:
    """The caller behind an Authorization header, or Unauthenticated. `mode` (the `Colony-Mode` header)
    puts a session in test mode; an API key's mode is its own, and a header that contradicts it is a 400.
    An API key is also held to its limits (`key_limits`: expiry, the networks it works from) for a call
    from `source_ip`."""
    if mode is not None and mode not in MODES:
        raise invalid_field("Colony-Mode", f"must be one of {', '.join(MODES)}")
    prefix, item_id, secret = parse_authorization(header)
    if prefix == SESSION_PREFIX:
        session, caller = _session_caller(item_id, secret, mode or LIVE)
        if mode != TEST:
            return caller
        read = caller.company_item if session.test_tenant_open else None  # else it may be opened now
        _open_test_tenant_once(session)
        company = tenant_for(caller.company, TEST)
        return Caller(company, caller.user, caller.role, caller.session, company_item=read)
    key, company_item = _key_and_company(prefix, item_id, secret)
    role = key.role if key.role is not None else _role_from_user(key)
    key_limits.admit(key, source_ip)
    if mode is not None and mode != key.mode:
        raise invalid_field("Colony-Mode", f"is {mode}, but this API key is a {key.mode} key")
    company = tenant_for(key.company, key.mode)
    return Caller(company, key.user, role, api_key=key.id, company_item=company_item)


def _key_and_company(prefix: str, key_id: int, secret: str) -> tuple[ApiKey, dict[str, Any] | None]:
    """The key a token is for, and the item of the company it acts in when the token names it (read in
    the same request); a wrong secret, mode or company is a 401."""
    named = named_company(secret)
    mode = TEST if prefix == TEST_KEY_PREFIX else LIVE
    key, company_item = (
        key_with_company(key_id, tenant_for(named, mode))
        if named is not None
        else (ApiKey.get_or_none(key_id), None)
    )
    invalid = Unauthenticated("The API key is not valid.", code="invalid_api_key")
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise invalid
    if (mode == TEST) != (key.mode == TEST) or (named is not None and named != key.company):
        raise invalid
    return key, company_item


def _role_from_user(key: ApiKey) -> str:
    """The role of a key made before keys carried it, read from its user and written on the key (unless a
    change of the user wrote it first, or deleted the key), so its next call reads the key alone."""
    user = User.get_or_none(key.company, key.user)
    if user is None:
        raise Unauthenticated("The API key is not valid.", code="invalid_api_key")
    with contextlib.suppress(UpdateError):
        key.update(
            actions=[ApiKey.role.set(user.role)],
            condition=ApiKey.id.exists() & ApiKey.role.does_not_exist(),
        )
    return user.role


def _session_caller(session_id: int, secret: str, mode: str) -> tuple[Session, Caller]:
    """A live session and its person (read with it, and the item of the company it acts in in `mode`, in
    one request when its token names them); signed out, expired, or made before a password change is
    refused."""
    expired = Unauthenticated("The session has ended; sign in again.", code="session_expired")
    named = named_user(secret)
    session, user, company_item = (
        session_with_user(session_id, *named, tenant_for(named[0], mode))
        if named
        else (Session.get_or_none(session_id), None, None)
    )
    now = int(clock.now().timestamp())
    if session is None or not hmac.compare_digest(session.secret_hash, hash_secret(secret)):
        raise expired
    if not session_alive(session.last_seen, session.expires_at, now):
        raise expired
    if named is None:
        user = User.get_or_none(session.company, session.user)
    elif named != (session.company, session.user):
        raise expired
    if user is None or user.session_version != session.user_version:
        raise expired
    if needs_touch(session.last_seen, now):
        with contextlib.suppress(UpdateError):  # another request touched it first, or it was signed out
            session.update(
                actions=[Session.last_seen.set(now)],
                condition=Session.last_seen == session.last_seen,
            )
    caller = Caller(user.company, user.id, user.role, session=session.id, company_item=company_item)
    return session, caller


def _open_test_tenant_once(session: Session) -> None:
    """A session's first call in test mode opens the company's test tenant (if nothing did before) and
    notes it on the session, so its later calls in test mode read nothing more."""
    if session.test_tenant_open:
        return
    open_test_tenant(session.company)
    with contextlib.suppress(UpdateError):  # signed out meanwhile
        session.update(actions=[Session.test_tenant_open.set(True)], condition=Session.id.exists())
