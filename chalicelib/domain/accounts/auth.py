"""Who is calling: API keys (stored only as hashes), roles, and the caller every domain function receives."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from chalicelib.domain.errors import Forbidden, Unauthenticated
from chalicelib.models.api_keys import ApiKey
from chalicelib.models.users import User

ROLES = ("admin", "approver", "member")
KEY_PREFIX = "ck"
_SCHEMES = ("token", "bearer")


@dataclass(frozen=True)
class Caller:
    """The company and user a request acts for; `user` is None for the operator's CLI."""

    company: int
    user: int | None
    role: str

    @classmethod
    def operator(cls, company: int) -> Caller:
        """The platform operator acting on one company (the admin CLI): an admin without a user."""
        return cls(company=company, user=None, role="admin")

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


def new_key(key_id: int) -> NewKey:
    secret = secrets.token_urlsafe(32)
    return NewKey(token=f"{KEY_PREFIX}_{key_id}_{secret}", secret_hash=hash_secret(secret))


def hash_secret(secret: str) -> str:
    """SHA-256 suits keys of 256 random bits: nothing to brute-force, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_authorization(header: str | None) -> tuple[int, str]:
    """`Token ck_<id>_<secret>` (or `Bearer …`) → (key id, secret); anything else is unauthenticated."""
    if not header:
        raise Unauthenticated("Send an API key: `Authorization: Token <key>`.", code="missing_api_key")
    scheme, _, token = header.strip().partition(" ")
    prefix, _, rest = token.strip().partition("_")
    key_id, _, secret = rest.partition("_")
    if (
        scheme.lower() not in _SCHEMES
        or prefix != KEY_PREFIX
        or not (key_id.isascii() and key_id.isdigit())
        or not secret
    ):
        raise Unauthenticated("The Authorization header must be `Token <key>`.", code="invalid_api_key")
    return int(key_id), secret


def authenticate(header: str | None) -> Caller:
    """The caller behind an Authorization header, or Unauthenticated."""
    key_id, secret = parse_authorization(header)
    key = ApiKey.get_or_none(key_id)
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise Unauthenticated("The API key is not valid.", code="invalid_api_key")
    user = User.get_or_none(key.company, key.user)
    if user is None:
        raise Unauthenticated("The API key is not valid.", code="invalid_api_key")
    return Caller(company=user.company, user=user.id, role=user.role)
