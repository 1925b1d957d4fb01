from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.schema import Field, Schema
from chalicelib.domain.accounts import users
from chalicelib.domain.clock import iso
from chalicelib.models.users import User

bp = Blueprint(__name__)

NEW_USER = Schema(
    fields={"email": Field(str, required=True, max_length=254), "role": Field(str, required=True)},
    read_only=("id", "company", "date_created", "date_updated"),
)
USER_CHANGES = Schema(
    fields={"role": Field(str)}, read_only=("id", "company", "email", "date_created", "date_updated")
)


def render_user(user: User) -> dict:
    return {
        "id": user.id,
        "company": user.company,
        "email": user.email,
        "role": user.role,
        "date_created": iso(user.date_created),
        "date_updated": iso(user.date_updated),
    }


@endpoint(bp, "/users")
def list_users(call: Call) -> dict:
    page = users.list_users(call.caller, call.page())
    return {"results": [render_user(u) for u in page.items], "next": page.next}


@endpoint(bp, "/users", methods=("POST",), status=201)
def create_user(call: Call) -> dict:
    body = call.body(NEW_USER)
    created = users.create_user(call.caller, body["email"], body["role"])
    return {**render_user(created.user), "api_key": created.api_key}


@endpoint(bp, "/users/{user_id}")
def get_user(call: Call, user_id: str) -> dict:
    return render_user(users.get_user(call.caller, object_id(user_id, "user")))


@endpoint(bp, "/users/{user_id}", methods=("PATCH",))
def update_user(call: Call, user_id: str) -> dict:
    current = render_user(users.get_user(call.caller, object_id(user_id, "user")))
    changes = call.body(USER_CHANGES, partial=True, current=current)
    return render_user(users.update_user(call.caller, object_id(user_id, "user"), changes))


@endpoint(bp, "/users/{user_id}", methods=("DELETE",))
def delete_user(call: Call, user_id: str) -> None:
    users.delete_user(call.caller, object_id(user_id, "user"))
