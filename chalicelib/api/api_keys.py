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

ALLOWED_IPS = Field(
    list,
    nullable=True,
    items=str,
    description="IPv4 and IPv6 networks in CIDR notation the key works from; null or empty: anywhere.",
)
READ_ONLY = ("id", "company", "api_key", "date_created", "last_used")
NEW_KEY = Schema(
    fields={
        "name": Field(str, nullable=True, max_length=100),
        "user": Field(int),
        "allowed_ips": ALLOWED_IPS,
        "expires_at": Field(str, nullable=True, max_length=40, description="ISO-8601, in the future."),
        "mode": Field(str, choices=MODES),
    },
    read_only=READ_ONLY,
    may_be_empty=True,
)
KEY_LIMITS = Schema(fields={"allowed_ips": ALLOWED_IPS}, read_only=(*READ_ONLY, "user", "name", "expires_at"))


class ApiKeyBody(TypedDict):
    id: int
    user: int
    name: str | None
    mode: Literal["live", "test"]
    date_created: Timestamp
    allowed_ips: list[str] | None
    expires_at: Timestamp | None
    last_used: str | None  # the UTC date it last authenticated a call


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
        "allowed_ips": list(key.allowed_ips) if key.allowed_ips else None,
        "expires_at": iso(key.expires_at),
        "last_used": key.last_used,
    }


@endpoint(bp, "/api-keys", query=PAGED)
def list_keys(call: Call) -> Page[ApiKeyBody]:
    page = api_keys.list_keys(call.caller, call.page())
    return {"results": [render_key(k) for k in page.items], "next": page.next}


@endpoint(bp, "/api-keys", methods=("POST",), status=201, body=NEW_KEY, idempotent=False)
def create_key(call: Call) -> IssuedKeyBody:
    body = call.body()
    issued = api_keys.issue_key(
        call.caller,
        body.get("user"),
        body.get("name"),
        body.get("mode"),
        allowed_ips=body.get("allowed_ips"),
        expires_at=body.get("expires_at"),
    )
    return {**render_key(issued.key), "api_key": issued.token}


@endpoint(bp, "/api-keys/{key_id}", methods=("DELETE",))
def revoke_key(call: Call, key_id: str) -> None:
    api_keys.revoke_key(call.caller, object_id(key_id, "API key"))


@endpoint(bp, "/api-keys/{key_id}", methods=("PATCH",), body=KEY_LIMITS)
def limit_key(call: Call, key_id: str) -> ApiKeyBody:
    """The key's owner or an admin: change the networks it works from."""
    key = api_keys.limit_key(call.caller, object_id(key_id, "API key"), call.body(partial=True))
    return render_key(key)
