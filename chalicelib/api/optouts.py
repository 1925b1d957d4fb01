from chalice import Blueprint, Response
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.imports import MULTIPART, ImportBody, posted_file, render_import
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.schema import Field, Schema, Upload
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.api.tasks import TaskBody, render_task
from chalicelib.domain.clock import iso
from chalicelib.domain.contacts import optouts
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.imports import jobs
from chalicelib.domain.rules.channels import CHANNELS, SMS
from chalicelib.models.optouts import OptOut

bp = Blueprint(__name__)

NEW_OPTOUT = Schema(
    fields={
        "originator": Field((str, int), required=True, max_length=320),
        "sender": Field(str, nullable=True, max_length=20),
        "reason": Field(str, nullable=True, max_length=optouts.MAX_REASON),
        "channel": Field(str, choices=CHANNELS),
    },
    read_only=(
        "id",
        "company",
        "date_opted_out",
        "date_overwritten",
        "overwritten_by",
        "overwrite_source",
        "overwrite_reason",
        "active",
        "source",
    ),
)


OVERWRITE = Schema(
    fields={"reason": Field(str, nullable=True, max_length=optouts.MAX_REASON)}, may_be_empty=True
)


class OptOutBody(TypedDict):
    id: int
    originator: str
    reason: str | None
    date_opted_out: Timestamp
    date_overwritten: Timestamp | None
    overwritten_by: int | None
    overwrite_source: str | None
    overwrite_reason: str | None
    company: int
    sender: str | None
    active: bool
    source: str | None
    channel: str


def render_optout(optout: OptOut) -> OptOutBody:
    return {
        "id": optout.id,
        "originator": optout.originator,
        "reason": optout.reason,
        "date_opted_out": iso(optout.date_opted_out),
        "date_overwritten": iso(optout.date_overwritten),
        "overwritten_by": optout.overwritten_by,
        "overwrite_source": optout.overwrite_source,
        "overwrite_reason": optout.overwrite_reason,
        "company": optout.company,
        "sender": optout.sender,
        "active": optout.date_overwritten is None,
        "source": optout.source,
        "channel": optout.channel or SMS,
    }


@endpoint(
    bp,
    "/optouts",
    query=(
        *PAGED,
        Param("originator", "Only the opt-outs of this number or address."),
        Param("sender", "Only the opt-outs scoped to this sender id."),
        Param("channel", "Only the opt-outs of this channel.", enum=CHANNELS),
        Param("active", "Only those in force (true) or lifted (false).", enum=("true", "false")),
    ),
)
def list_optouts(call: Call) -> Page[OptOutBody]:
    active = call.query("active")
    if active not in (None, "true", "false"):
        raise invalid_field("active", "must be true or false")
    page = optouts.list_optouts(
        call.caller,
        call.page(),
        originator=call.query("originator"),
        sender=call.query("sender"),
        channel=call.query("channel"),
        active_only=None if active is None else active == "true",
    )
    return {"results": [render_optout(o) for o in page.items], "next": page.next}


@endpoint(bp, "/optouts", methods=("POST",), body=NEW_OPTOUT, responses={201: OptOutBody, 200: OptOutBody})
def create_optout(call: Call) -> Response:
    """201 with the new opt-out, or 200 with the one already active for that number and scope."""
    body = call.body()
    originator = body["originator"]
    result = optouts.record(
        call.caller, str(originator), body.get("sender"), body.get("reason"), body.get("channel", SMS)
    )
    return Response(body=render_optout(result.optout), status_code=201 if result.created else 200)


@endpoint(bp, "/optouts/{optout_id}")
def get_optout(call: Call, optout_id: str) -> OptOutBody:
    return render_optout(optouts.get_optout(call.caller, object_id(optout_id, "opt-out")))


@endpoint(bp, "/optouts/{optout_id}/overwrite", methods=("POST",), body=OVERWRITE)
def overwrite_optout(call: Call, optout_id: str) -> OptOutBody:
    """An admin lifts an opt-out; the body may say why (`{"reason": ...}`), or be empty."""
    body = call.body()
    lifted = optouts.overwrite(call.caller, object_id(optout_id, "opt-out"), body.get("reason"))
    return render_optout(lifted)


@endpoint(
    bp,
    "/optouts/import",
    methods=("POST",),
    status=202,
    content_types=MULTIPART,
    body=Upload(
        {
            "sender": "Scope every opt-out of the file to this sender id.",
            "reason": "The reason recorded where a row gives none.",
        },
        kind="optouts",
    ),
)
def import_optouts(call: Call) -> ImportBody:
    """A CSV of numbers (with an optional `reason` column); the form's `sender` scopes them all."""
    upload, form = posted_file(call)
    sender = form["sender"].text.strip() if "sender" in form else None
    reason = form["reason"].text.strip() if "reason" in form else None
    return render_import(jobs.import_optouts(call.caller, upload, sender or None, reason or None))


@endpoint(bp, "/optouts/export", methods=("POST",), status=202)
def export_optouts(call: Call) -> TaskBody:
    return render_task(optouts.start_export(call.caller))
