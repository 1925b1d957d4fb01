"""One-time links that set a password: an admin's invite (valid 72 hours) and a reset anyone may ask for
(valid 1 hour, and never saying whether the address is known). Each is emailed to its user; a password
set by any means voids the links issued before it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.domain import clock
from chalicelib.domain.accounts import passwords, sessions, users
from chalicelib.domain.accounts.auth import LINK_PREFIX, Caller, hash_secret, new_key, parse_token
from chalicelib.domain.accounts.users import NewUser, check_email, get_user
from chalicelib.domain.audit.entries import record
from chalicelib.domain.errors import InvalidInput, invalid_field
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.claims import Claim
from chalicelib.models.counters import random_id
from chalicelib.models.sessions import PasswordLink
from chalicelib.models.users import User
from chalicelib.providers import OutgoingEmail, ProviderError, email_provider
from chalicelib.settings import get_settings

LIFETIMES = {"invite": 72 * 3600, "reset": 3600}
RESET_EVERY_SECONDS = 60
SUBJECTS = {"invite": "You are invited to Colony", "reset": "Reset your Colony password"}
TEXTS = {
    "invite": "You have been invited to Colony. Choose your password here (the link works once, "
    "within 72 hours):\n\n{url}\n",
    "reset": "Someone asked to reset your Colony password. If it was you, choose a new one here "
    "(the link works once, within an hour):\n\n{url}\n\nIf it was not you, ignore this email.\n",
}


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires: datetime


@dataclass(frozen=True)
class InvitedUser:
    created: NewUser
    invite: IssuedLink


def create_invited_user(caller: Caller, email: str, role: str) -> InvitedUser:
    """A new user of the caller's company with its first API key and an emailed invite link."""
    created = users.create_user(caller, email, role)
    return InvitedUser(created=created, invite=issue(created.user, "invite", caller))


def invite(caller: Caller, user_id: int) -> IssuedLink:
    """A new invite link for a user of the caller's company (admins only), emailed to them."""
    caller.require("admin")
    return issue(get_user(caller, user_id), "invite", caller)


def request_reset(email: str) -> None:
    """Email a reset link to every user with this address; says nothing either way."""
    for user in User.by_email.query(check_email(email)):
        if _reset_allowed(user):
            issue(user, "reset")


def _reset_allowed(user: User) -> bool:
    """At most one reset email a user every RESET_EVERY_SECONDS, so nobody can flood an inbox."""
    now = int(clock.now().timestamp())
    try:
        Claim(
            key=f"reset-sent#{user.company}#{user.id}", owner="reset", until=now + RESET_EVERY_SECONDS
        ).save(condition=Claim.key.does_not_exist() | (Claim.until <= now))
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def issue(user: User, purpose: str, invited_by: Caller | None = None) -> IssuedLink:
    """A new link for `user`, emailed to them; an admin's invite (`invited_by`) is audited with it."""
    now = int(clock.now().timestamp())
    link_id = random_id()
    issued = new_key(link_id, LINK_PREFIX)
    saved = PasswordLink(
        id=link_id,
        company=user.company,
        user=user.id,
        purpose=purpose,
        secret_hash=issued.secret_hash,
        user_version=user.session_version,
        expires_at=now + LIFETIMES[purpose],
    )
    link = IssuedLink(
        url=get_settings().app_url(f"#/password/{issued.token}"),
        expires=datetime.fromtimestamp(now + LIFETIMES[purpose], UTC),
    )
    if invited_by is None:
        saved.save(condition=PasswordLink.id.does_not_exist())
    else:
        with transaction() as write:
            write.save(saved, condition=PasswordLink.id.does_not_exist())
            changes = {"invite_expires": (None, link.expires), "invite_url": (None, link.url)}
            record(write, invited_by, "user.invited", "user", user.id, changes)
    _email(user, purpose, link.url)
    return link


def use(token: str, password: str) -> sessions.NewSession:
    """Set the password a link is for, once, and sign its user in."""
    link, user = _live_link(token)
    passwords.checked_password(password, user.email)  # a refused password leaves the link usable
    try:
        link.delete(condition=PasswordLink.id.exists())  # of two uses at once, one wins
    except DeleteError as error:
        raise _unusable() from error
    if not passwords.set_password(user, password):  # another link or a change won, or the user went
        raise _unusable()
    return sessions.start_session(user)


def _live_link(token: str) -> tuple[PasswordLink, User]:
    parsed = parse_token(token or "", (LINK_PREFIX,))
    link = PasswordLink.get_or_none(parsed[1], consistent_read=True) if parsed else None
    if link is None or not hmac.compare_digest(link.secret_hash, hash_secret(parsed[2])):
        raise _unusable()
    user = User.get_or_none(link.company, link.user)
    now = int(clock.now().timestamp())
    if user is None or link.expires_at <= now or link.user_version != user.session_version:
        raise _unusable()
    return link, user


def _unusable() -> InvalidInput:
    return invalid_field("token", "this link has expired or was used; ask for a new one")


def _email(user: User, purpose: str, url: str) -> None:
    settings = get_settings()
    if not settings.system_email:
        logger.warning("no COLONY_SYSTEM_EMAIL: password link not emailed", user=user.id, purpose=purpose)
        return
    outgoing = OutgoingEmail(
        to=user.email,
        sender=settings.system_email,
        sender_name="Colony",
        reply_to=None,
        subject=SUBJECTS[purpose],
        text=TEXTS[purpose].format(url=url),
        html=None,
        marketing=False,
        reference=f"u{user.company}:{user.id}",
        date=clock.now(),
    )
    try:
        email_provider().send(outgoing)
    except ProviderError as error:
        logger.error("password link not emailed", user=user.id, purpose=purpose, error=str(error))
