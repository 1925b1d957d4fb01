"""People's passwords: Argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile), the
policy every new password meets, and the change that signs out every session made before it."""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.audit.entries import record
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.rules.password_policy import password_problem
from chalicelib.models.base import failed_conditions, transaction
from chalicelib.models.users import User

_HASHER = PasswordHasher()
# Verified when no user has the address, so an unknown email takes as long as a known one.
_DECOY = _HASHER.hash("colony decoy password, never anyone's")


def _normal(password: str) -> str:
    """One spelling of what was typed, whichever keyboard composed it (NFKC)."""
    return unicodedata.normalize("NFKC", password)


def checked_password(password: str, email: str, field: str = "password") -> str:
    problem = password_problem(password, email)
    if problem:
        raise invalid_field(field, problem)
    return password


def verify(user: User | None, password: str) -> bool:
    """Whether `password` is the user's; as slow for a user without one (or no user) as for one with."""
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        _HASHER.verify(stored or _DECOY, _normal(password))
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def set_password(user: User, password: str, by: Caller | None = None) -> bool:
    """Store a new password, if the user still exists and nobody changed it since `user` was read
    (False otherwise); every session the user had ends (sessions carry the version they began in).
    The user's own change (`by`: the request that made it; None: a password link), audited with it."""
    checked_password(password, user.email)
    now = clock.now()
    hashed = _HASHER.hash(_normal(password))
    try:
        with transaction() as write:
            write.update(
                user,
                actions=[
                    User.password_hash.set(hashed),
                    User.session_version.add(1),
                    User.date_updated.set(now),
                ],
                condition=User.id.exists() & (User.session_version == user.session_version),
            )
            themselves = by or Caller(company=user.company, user=user.id, role=user.role)
            changes = {"password_hash": (user.password_hash, hashed)}
            record(write, themselves, "user.password_changed", "user", user.id, changes)
    except TransactWriteError as error:
        if failed_conditions(error)[:1] == [True]:
            return False
        raise
    user.password_hash, user.session_version, user.date_updated = hashed, user.session_version + 1, now
    return True
