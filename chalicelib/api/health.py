from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint

bp = Blueprint(__name__)


class HealthBody(TypedDict):
    status: str


@endpoint(bp, "/health", public=True)
def health(call: Call) -> HealthBody:
    """Whether the API answers (open to all; it touches no data)."""
    return {"status": "ok"}
