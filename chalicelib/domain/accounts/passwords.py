"""People's passwords: Argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile), the
policy every new password meets, and the change that signs out every session made before it."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib.domain import clock
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.rules.password_policy import password_problem
from chalicelib.models.users import User

_HASHER = PasswordHasher()
# Verified when no user has the address, so an unknown email takes as long as a known one.
_DECOY = _HASHER.hash("colony decoy password, never anyone's")


def checked_password(password: str, email: str, field: str = "password") -> str:
    problem = password_problem(password, email)
    if problem:
        raise invalid_field(field, problem)
    return password


def verify(user: User | None, password: str) -> bool:
    """Whether `password` is the user's; as slow for a user without one (or no user) as for one with."""
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        _HASHER.verify(stored or _DECOY, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def set_password(user: User, password: str) -> None:
    """Store a new password; every session the user had ends (sessions carry the version they began in)."""
    checked_password(password, user.email)
    now = clock.now()
    user.update(
        actions=[
            User.password_hash.set(_HASHER.hash(password)),
            User.session_version.add(1),
            User.date_updated.set(now),
        ],
        condition=User.id.exists(),
    )
