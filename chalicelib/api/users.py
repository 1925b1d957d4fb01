from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.accounts import password_links, users
from chalicelib.domain.accounts.auth import ROLES
from chalicelib.domain.accounts.password_links import IssuedLink
from chalicelib.domain.clock import iso
from chalicelib.models.users import User

bp = Blueprint(__name__)

NEW_USER = Schema(
    fields={
        "email": Field(str, required=True, max_length=254),
        "role": Field(str, required=True, choices=ROLES),
    },
    read_only=("id", "company", "date_created", "date_updated"),
)
USER_CHANGES = Schema(
    fields={"role": Field(str, choices=ROLES)},
    read_only=("id", "company", "email", "date_created", "date_updated"),
)


class UserBody(TypedDict):
    id: int
    company: int
    email: str
    role: str
    date_created: Timestamp
    date_updated: Timestamp


class InviteBody(TypedDict):
    invite_url: str  # one-time link (72 hours) where the user chooses a password; also emailed
    invite_expires: Timestamp


class NewUserBody(UserBody, InviteBody):
    api_key: str


def render_user(user: User) -> UserBody:
    return {
        "id": user.id,
        "company": user.company,
        "email": user.email,
        "role": user.role,
        "date_created": iso(user.date_created),
        "date_updated": iso(user.date_updated),
    }


def render_invite(link: IssuedLink) -> InviteBody:
    return {"invite_url": link.url, "invite_expires": iso(link.expires)}


@endpoint(bp, "/users", query=PAGED)
def list_users(call: Call) -> Page[UserBody]:
    page = users.list_users(call.caller, call.page())
    return {"results": [render_user(u) for u in page.items], "next": page.next}


@endpoint(bp, "/users", methods=("POST",), status=201, body=NEW_USER, idempotent=False)
def create_user(call: Call) -> NewUserBody:
    body = call.body()
    invited = password_links.create_invited_user(call.caller, body["email"], body["role"])
    return {
        **render_user(invited.created.user),
        "api_key": invited.created.api_key,
        **render_invite(invited.invite),
    }


@endpoint(bp, "/users/{user_id}")
def get_user(call: Call, user_id: str) -> UserBody:
    return render_user(users.get_user(call.caller, object_id(user_id, "user")))


@endpoint(bp, "/users/{user_id}", methods=("PATCH",), body=USER_CHANGES)
def update_user(call: Call, user_id: str) -> UserBody:
    current = render_user(users.get_user(call.caller, object_id(user_id, "user")))
    changes = call.body(partial=True, current=current)
    return render_user(users.update_user(call.caller, object_id(user_id, "user"), changes))


@endpoint(bp, "/users/{user_id}", methods=("DELETE",))
def delete_user(call: Call, user_id: str) -> None:
    users.delete_user(call.caller, object_id(user_id, "user"))
