from typing import Literal

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.accounts import api_keys
from chalicelib.domain.clock import iso
from chalicelib.domain.rules.modes import LIVE, MODES
from chalicelib.models.api_keys import ApiKey

bp = Blueprint(__name__)

NEW_KEY = Schema(
    fields={
        "name": Field(str, nullable=True, max_length=100),
        "user": Field(int),
        "mode": Field(str, choices=MODES),
    },
    read_only=("id", "company", "api_key", "date_created"),
    may_be_empty=True,
)


class ApiKeyBody(TypedDict):
    id: int
    user: int
    name: str | None
    mode: Literal["live", "test"]
    date_created: Timestamp


class IssuedKeyBody(ApiKeyBody):
    api_key: str


def render_key(key: ApiKey) -> ApiKeyBody:
    """A key without its secret, which is never stored and shown only when the key is made."""
    return {
        "id": key.id,
        "user": key.user,
        "name": key.name,
        "mode": key.mode or LIVE,  # type: ignore[typeddict-item]
        "date_created": iso(key.date_created),
    }


@endpoint(bp, "/api-keys", query=PAGED)
def list_keys(call: Call) -> Page[ApiKeyBody]:
    page = api_keys.list_keys(call.caller, call.page())
    return {"results": [render_key(k) for k in page.items], "next": page.next}


@endpoint(bp, "/api-keys", methods=("POST",), status=201, body=NEW_KEY, idempotent=False)
def create_key(call: Call) -> IssuedKeyBody:
    body = call.body()
    issued = api_keys.issue_key(call.caller, body.get("user"), body.get("name"), body.get("mode"))
    return {**render_key(issued.key), "api_key": issued.token}


@endpoint(bp, "/api-keys/{key_id}", methods=("DELETE",))
def revoke_key(call: Call, key_id: str) -> None:
    api_keys.revoke_key(call.caller, object_id(key_id, "API key"))
