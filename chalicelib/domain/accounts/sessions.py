"""Signing people in and out. A session is a bearer token like an API key (no cookies, so no CSRF); five
failed sign-ins for one address lock it for 15 minutes, whether Colony knows the address or not."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from chalicelib.domain import clock
from chalicelib.domain.accounts import passwords
from chalicelib.domain.accounts.auth import SESSION_PREFIX, Caller, new_key
from chalicelib.domain.accounts.users import check_email
from chalicelib.domain.errors import InvalidInput, NotFound, RateLimited, Unauthenticated, invalid_field
from chalicelib.domain.rules.session_expiry import LIFETIME_SECONDS
from chalicelib.models.counters import allocate_ids
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
    failures = SignInFailures.get_or_none(_failures_key(key), consistent_read=True)
    if failures is not None and failures.locked_until > now:
        raise _locked(failures.locked_until - now)
    candidates = [u for u in User.by_email.query(key) if company is None or u.company == company]
    matched = [u for u in candidates if passwords.verify(u, password)] if candidates else []
    if not candidates:
        passwords.verify(None, password)
    if not matched:
        _count_failure(key, now)
        raise Unauthenticated(WRONG, code="wrong_credentials")
    if len(matched) > 1:
        raise InvalidInput(
            "You belong to several companies: say which one with `company`.",
            code="company_required",
            fields={"company": ["is required: " + ", ".join(str(u.company) for u in matched)]},
        )
    if failures is not None:
        SignInFailures(key=_failures_key(key)).delete()
    return start_session(matched[0])


def start_session(user: User) -> NewSession:
    now = _epoch()
    session_id = allocate_ids("session")[0]
    issued = new_key(session_id, SESSION_PREFIX)
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
    user = User.get_or_none(caller.company, caller.user) if caller.user is not None else None
    if user is None:
        raise NotFound("There is no such user.")
    now = _epoch()
    failures = SignInFailures.get_or_none(_failures_key(user.email), consistent_read=True)
    if failures is not None and failures.locked_until > now:
        raise _locked(failures.locked_until - now)
    if not passwords.verify(user, current_password):
        _count_failure(user.email, now)
        raise invalid_field("current_password", "is not your password")
    passwords.set_password(user, password)
    return start_session(user)


def current_session(caller: Caller) -> Session:
    """The caller's own session; an API key has none."""
    session = Session.get_or_none(caller.session) if caller.session is not None else None
    if session is None:
        raise NotFound("This request was not made with a session (an API key has none).")
    return session


def sign_out(caller: Caller) -> None:
    current_session(caller).delete()


def _count_failure(key: str, now: int) -> None:
    """One more failure within the window (a conditional counter, safe across Lambdas); the fifth locks."""
    item = SignInFailures(key=_failures_key(key))
    in_window = SignInFailures.since > now - LOCK_SECONDS
    try:
        item.update(actions=[SignInFailures.failures.add(1)], condition=in_window)
    except UpdateError:
        try:
            item.update(
                actions=[SignInFailures.failures.set(1), SignInFailures.since.set(now)],
                condition=SignInFailures.since.does_not_exist() | ~in_window,
            )
        except UpdateError:  # another failure opened the window meanwhile
            item.update(actions=[SignInFailures.failures.add(1)])
    if item.failures >= MAX_FAILURES:
        item.update(
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
