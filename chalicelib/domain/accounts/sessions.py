"""Signing people in and out. A session is a bearer token like an API key (no cookies, so no CSRF); five
failed sign-ins for one address lock it for 15 minutes, whether Colony knows the address or not."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from chalicelib.domain import clock
from chalicelib.domain.accounts import passwords
from chalicelib.domain.accounts.auth import SESSION_PREFIX, Caller, new_key, session_names
from chalicelib.domain.accounts.users import check_email
from chalicelib.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    invalid_field,
)
from chalicelib.domain.rules.session_expiry import LIFETIME_SECONDS
from chalicelib.models.base import condition_failed
from chalicelib.models.counters import random_id
from chalicelib.models.sessions import Session, SignInFailures
from chalicelib.models.users import User

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
WRONG = "The email or password is not right."


@dataclass(frozen=True)
class NewSession:
    session: Session
    user: User
    token: str  # shown once; only its hash is kept


def sign_in(email: str, password: str, company: int | None = None) -> NewSession:
    """A session for the user with this email and password; `company` picks one when the same person
    belongs to several companies with the same password."""
    key = check_email(email)
    now = _epoch()
    attempts = _take_attempt(key, now)
    candidates = [u for u in User.by_email.query(key) if company is None or u.company == company]
    matched = [u for u in candidates if passwords.verify(u, password)] if candidates else []
    if not candidates:
        passwords.verify(None, password)
    if not matched:
        _failed(key, now, attempts)
        raise Unauthenticated(WRONG, code="wrong_credentials")
    if len(matched) > 1:
        raise InvalidInput(
            "You belong to several companies: say which one with `company`.",
            code="company_required",
            fields={"company": ["is required: " + ", ".join(str(u.company) for u in matched)]},
        )
    SignInFailures(key=_failures_key(key)).delete()
    return start_session(matched[0])


def start_session(user: User) -> NewSession:
    now = _epoch()
    session_id = random_id()
    issued = new_key(session_id, SESSION_PREFIX, session_names(user.company, user.id))
    session = Session(
        id=session_id,
        company=user.company,
        user=user.id,
        secret_hash=issued.secret_hash,
        user_version=user.session_version,
        created_at=now,
        last_seen=now,
        expires_at=now + LIFETIME_SECONDS,
    )
    session.save(condition=Session.id.does_not_exist())
    return NewSession(session=session, user=user, token=issued.token)


def change_password(caller: Caller, current_password: str, password: str) -> NewSession:
    """The caller's own password, changed; every session of theirs ends and a new one begins."""
    user = User.get_or_none(caller.account, caller.user) if caller.user is not None else None
    if user is None:
        raise NotFound("There is no such user.")
    now = _epoch()
    attempts = _take_attempt(user.email, now)
    if not passwords.verify(user, current_password):
        _failed(user.email, now, attempts)
        raise invalid_field("current_password", "is not your password")
    if not passwords.set_password(user, password, caller):
        raise Conflict(
            "Your password was changed (or your user deleted) meanwhile; sign in again.",
            code="concurrent_change",
        )
    return start_session(user)


def current_session(caller: Caller) -> Session:
    """The caller's own session; an API key has none."""
    session = Session.get_or_none(caller.session) if caller.session is not None else None
    if session is None:
        raise NotFound("This request was not made with a session (an API key has none).")
    return session


def sign_out(caller: Caller) -> None:
    current_session(caller).delete()


def _take_attempt(key: str, now: int) -> int:
    """Count an attempt before its password is checked (a conditional counter, safe across Lambdas, so
    parallel guesses get no more than MAX_FAILURES between them); returns its number in the window, or
    raises the 429 when the address is locked or its attempts are used up."""
    for _ in range(3):  # a first attempt racing another first attempt goes round again
        counted = _count_attempt(key, now)
        if counted is not None:
            return counted
        current = SignInFailures.get_or_none(_failures_key(key), consistent_read=True)
        if current is None:  # a sign-in that succeeded meanwhile cleared the counter
            continue
        if current.locked_until > now:
            raise _locked(current.locked_until - now)
        if current.failures >= MAX_FAILURES and current.since > now - LOCK_SECONDS:
            _lock(key, now)  # the attempts ran out before the last of them had failed
            raise _locked(LOCK_SECONDS)
    raise _locked(LOCK_SECONDS)


def _count_attempt(key: str, now: int) -> int | None:
    """The attempt's number in the current window (a new window when none is open), or None when the
    address is locked, its attempts are used up, or another attempt changed the counter meanwhile."""
    item = SignInFailures(key=_failures_key(key))
    unlocked = SignInFailures.locked_until.does_not_exist() | (SignInFailures.locked_until <= now)
    in_window = SignInFailures.since > now - LOCK_SECONDS
    try:
        item.update(
            actions=[SignInFailures.failures.add(1)],
            condition=unlocked & in_window & (SignInFailures.failures < MAX_FAILURES),
        )
        return item.failures
    except UpdateError as error:
        if not condition_failed(error):
            raise
    try:
        item.update(
            actions=[SignInFailures.failures.set(1), SignInFailures.since.set(now)],
            condition=unlocked & (SignInFailures.since.does_not_exist() | ~in_window),
        )
        return 1
    except UpdateError as error:
        if not condition_failed(error):
            raise
    return None


def _failed(key: str, now: int, attempts: int) -> None:
    """A failed attempt stays counted; the fifth in the window locks the address."""
    if attempts >= MAX_FAILURES:
        _lock(key, now)


def _lock(key: str, now: int) -> None:
    SignInFailures(key=_failures_key(key)).update(
        actions=[
            SignInFailures.locked_until.set(now + LOCK_SECONDS),
            SignInFailures.failures.set(0),
            SignInFailures.since.set(0),
        ]
    )


def _locked(seconds: int) -> RateLimited:
    minutes = max(1, -(-seconds // 60))
    return RateLimited(
        f"Too many failed sign-ins for this email; try again in {minutes} minute{'s' * (minutes != 1)}.",
        code="sign_in_locked",
    )


def _failures_key(key: str) -> str:
    return f"sign-in-failures#{key}"


def _epoch() -> int:
    return int(clock.now().timestamp())
