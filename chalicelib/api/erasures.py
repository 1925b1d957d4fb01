from typing import Any

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.api.tasks import TaskBody, render_task
from chalicelib.domain.clock import iso
from chalicelib.domain.privacy import erasures
from chalicelib.models.erasures import Erasure

bp = Blueprint(__name__)

NEW_ERASURE = Schema(
    fields={
        "msisdn": Field((str, int), nullable=True, max_length=40, description="The person's number."),
        "email": Field(str, nullable=True, max_length=320, description="Or: the person's address."),
    },
    read_only=("id", "person", "status", "task", "counts", "files_deleted", "suppression_kept"),
)


class ErasureBody(TypedDict):
    """A person's erasure: who asked, when, and what changed (counts only; `person` is their token)."""

    id: int
    channel: str
    person: str
    status: str
    task: int | None
    requested_by: int | None
    counts: dict[str, Any]
    files_deleted: list[str]
    suppression_kept: bool
    error: str | None
    date_created: Timestamp
    date_completed: Timestamp | None


class ErasureStartedBody(TypedDict):
    erasure: ErasureBody
    task: TaskBody


def render_erasure(erasure: Erasure) -> ErasureBody:
    return {
        "id": erasure.id,
        "channel": erasure.channel,
        "person": erasure.person,
        "status": erasure.status,
        "task": erasure.task,
        "requested_by": erasure.requested_by,
        "counts": erasure.counts or {},
        "files_deleted": list(erasure.files_deleted or []),
        "suppression_kept": bool(erasure.suppression_kept),
        "error": erasure.error,
        "date_created": iso(erasure.date_created),
        "date_completed": iso(erasure.date_completed),
    }


@endpoint(bp, "/erasures", methods=("POST",), status=202, body=NEW_ERASURE)
def start_erasure(call: Call) -> ErasureStartedBody:
    """Admin: erase a person (by `msisdn` or `email`) from every list, record and file of the company."""
    body = call.body()
    erasure, task = erasures.start_erasure(call.caller, body.get("msisdn"), body.get("email"))
    return {"erasure": render_erasure(erasure), "task": render_task(task)}


@endpoint(bp, "/erasures", query=PAGED)
def list_erasures(call: Call) -> Page[ErasureBody]:
    """Admin: the company's erasures, newest first."""
    page = erasures.list_erasures(call.caller, call.page())
    return {"results": [render_erasure(e) for e in page.items], "next": page.next}


@endpoint(bp, "/erasures/{erasure_id}")
def get_erasure(call: Call, erasure_id: str) -> ErasureBody:
    return render_erasure(erasures.get_erasure(call.caller, object_id(erasure_id, "erasure")))
