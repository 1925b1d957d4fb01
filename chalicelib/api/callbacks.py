from typing import Any

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.callbacks import attempts, delivery, events
from chalicelib.domain.clock import iso
from chalicelib.models.callbacks import CallbackAttempt

bp = Blueprint(__name__)


class TryBody(TypedDict):
    """One POST to the callback URL: when, and the status code it answered or why there was none."""

    at: Timestamp
    status_code: int | None
    error: str | None


class CallbackBody(TypedDict):
    """One event on its way to the company's callback URL, and every attempt to deliver it."""

    id: int
    event_id: str
    type: str
    status: str
    url: str
    payload: dict[str, Any]
    attempts: list[TryBody]
    date_created: Timestamp
    date_updated: Timestamp


def render_attempt(attempt: CallbackAttempt) -> CallbackBody:
    return {
        "id": attempt.id,
        "event_id": attempt.event_id,
        "type": attempt.type,
        "status": attempt.status,
        "url": attempt.url,
        "payload": attempt.payload,
        "attempts": [
            {"at": iso(t.at), "status_code": t.status_code, "error": t.error} for t in attempt.tries or []
        ],
        "date_created": iso(attempt.date_created),
        "date_updated": iso(attempt.date_updated),
    }


@endpoint(
    bp,
    "/callbacks",
    query=(
        *PAGED,
        Param("status", "Only the attempts in this status.", enum=delivery.STATUSES),
        Param("type", "Only the events of this type.", enum=events.TYPES),
    ),
)
def list_callbacks(call: Call) -> Page[CallbackBody]:
    """The company's recent callback attempts (the last 30 days), newest first."""
    page = attempts.list_attempts(call.caller, call.page(), call.query("status"), call.query("type"))
    return {"results": [render_attempt(a) for a in page.items], "next": page.next}


@endpoint(bp, "/callbacks/{callback_id}")
def get_callback(call: Call, callback_id: str) -> CallbackBody:
    return render_attempt(attempts.get_attempt(call.caller, object_id(callback_id, "callback")))


@endpoint(bp, "/callbacks/{callback_id}/retry", methods=("POST",), status=202)
def retry_callback(call: Call, callback_id: str) -> CallbackBody:
    """Send the event again now (its attempts so far are kept)."""
    return render_attempt(attempts.retry(call.caller, object_id(callback_id, "callback")))
