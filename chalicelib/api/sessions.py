"""People's sign-in: sessions (bearer tokens for the web app), invites, password resets and changes."""

from datetime import UTC, datetime

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Timestamp
from chalicelib.api.users import InviteBody, UserBody, render_invite, render_user
from chalicelib.domain.accounts import password_links, sessions
from chalicelib.domain.accounts.users import get_user
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import Forbidden
from chalicelib.domain.rules.password_policy import MAX_LENGTH
from chalicelib.domain.rules.session_expiry import IDLE_SECONDS
from chalicelib.models.sessions import Session

bp = Blueprint(__name__)

PASSWORD = Field(
    str, required=True, max_length=MAX_LENGTH, description="at least 12 characters, not a common one"
)
SIGN_IN = Schema(
    fields={
        "email": Field(str, required=True, max_length=254),
        "password": Field(str, required=True, max_length=MAX_LENGTH),
        "company": Field(int, description="which company, when the same person belongs to several"),
    }
)
RESET = Schema(fields={"email": Field(str, required=True, max_length=254)})
SET_PASSWORD = Schema(
    fields={
        "token": Field(str, required=True, max_length=200, description="from the invite or reset link"),
        "password": PASSWORD,
    }
)
CHANGE_PASSWORD = Schema(
    fields={"current_password": Field(str, required=True, max_length=MAX_LENGTH), "password": PASSWORD}
)


class SessionBody(TypedDict):
    id: int
    user: UserBody
    date_created: Timestamp
    expires: Timestamp  # at the latest; 12 hours without a request end it sooner
    idle_timeout: int  # seconds


class NewSessionBody(SessionBody):
    token: str  # send it as `Authorization: Bearer <token>`; shown once


class AcceptedBody(TypedDict):
    detail: str


def render_session(session: Session, user: UserBody) -> SessionBody:
    return {
        "id": session.id,
        "user": user,
        "date_created": _iso_epoch(session.created_at),
        "expires": _iso_epoch(session.expires_at),
        "idle_timeout": IDLE_SECONDS,
    }


def render_new_session(new: sessions.NewSession) -> NewSessionBody:
    return {**render_session(new.session, render_user(new.user)), "token": new.token}


@endpoint(bp, "/sessions", methods=("POST",), public=True, status=201, body=SIGN_IN, errors=(400, 401, 429))
def sign_in(call: Call) -> NewSessionBody:
    """Sign a person in with email and password; five wrong passwords lock the address for 15 minutes."""
    body = call.body()
    return render_new_session(sessions.sign_in(body["email"], body["password"], body.get("company")))


@endpoint(bp, "/sessions/current", errors=(404,))
def current_session(call: Call) -> SessionBody:
    """The caller's session and who it signed in."""
    session = sessions.current_session(call.caller)
    return render_session(session, render_user(get_user(call.caller, call.caller.user)))


@endpoint(bp, "/sessions/current", methods=("DELETE",), errors=(404,))
def sign_out(call: Call) -> None:
    sessions.sign_out(call.caller)


@endpoint(bp, "/password-resets", methods=("POST",), public=True, status=202, body=RESET, errors=(400,))
def request_reset(call: Call) -> AcceptedBody:
    """Email a reset link (valid 1 hour) to the address if it belongs to a user; the answer is the same
    either way."""
    password_links.request_reset(call.body()["email"])
    return {"detail": "If that address belongs to a user, a reset link is on its way."}


@endpoint(bp, "/passwords", methods=("POST",), public=True, status=201, body=SET_PASSWORD, errors=(400,))
def set_password(call: Call) -> NewSessionBody:
    """Choose a password with an invite or reset link (once), and sign in."""
    body = call.body()
    return render_new_session(password_links.use(body["token"], body["password"]))


@endpoint(
    bp, "/users/{user_id}/password", methods=("PUT",), body=CHANGE_PASSWORD, errors=(400, 403, 404, 409, 429)
)
def change_password(call: Call, user_id: str) -> NewSessionBody:
    """Change your own password; every session you had ends, and this answer is your new one."""
    if get_user(call.caller, object_id(user_id, "user")).id != call.caller.user:
        raise Forbidden("You may change only your own password; an admin can send an invite link instead.")
    body = call.body()
    return render_new_session(
        sessions.change_password(call.caller, body["current_password"], body["password"])
    )


@endpoint(bp, "/users/{user_id}/invite", methods=("POST",), status=201, idempotent=False)
def reissue_invite(call: Call, user_id: str) -> InviteBody:
    """A new invite link for a user (admins), emailed to them; their password, if any, stays."""
    return render_invite(password_links.invite(call.caller, object_id(user_id, "user")))


def _iso_epoch(seconds: int) -> str | None:
    return iso(datetime.fromtimestamp(seconds, UTC))
