from chalice import Blueprint, Response
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.imports import MULTIPART, ImportBody, posted_file, render_import
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.schema import Field, Schema, Upload
from chalicelib.api.shapes import NonGsmBody, Page, Timestamp
from chalicelib.api.tasks import TaskBody, render_task
from chalicelib.domain import clock
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.clock import in_zone, iso
from chalicelib.domain.deployments import approvals, drafts, launch, quotes, recipients, store
from chalicelib.domain.deployments.waiting import waiting
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.files import reports
from chalicelib.domain.imports import jobs
from chalicelib.domain.rules import email_content, lifecycle
from chalicelib.domain.rules.channels import DISPATCH, EMAIL, SMS
from chalicelib.domain.rules.destinations import number_in
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient

bp = Blueprint(__name__)

FIELDS = {
    "title": Field(str, max_length=200),
    "message": Field(str, max_length=drafts.MAX_MESSAGE),
    "subject": Field(str, nullable=True, max_length=email_content.MAX_SUBJECT),
    "html": Field(str, nullable=True, max_length=email_content.MAX_HTML),
    "contact_lists": Field(list, max_length=drafts.MAX_LISTS, items=int),
    "sender": Field(str, nullable=True, max_length=20),
    "marketing": Field(bool),
    "optout": Field(bool),
    "gsm_substitute": Field(bool),
    "dispatch": Field(int, choices=tuple(DISPATCH), description="1 SMS, 2 email, 3 both."),
    "send_date": Field(str, nullable=True, max_length=40),
    "linked_campaign": Field(int, nullable=True),
}
READ_ONLY = (
    "id",
    "company",
    "status",
    "status_name",
    "created_by",
    "updated_by",
    "approved_by",
    "submitted_by",
    "editors",
    "import_id",
    "total_credits",
    "total_contacts",
    "quote_status",
    "error",
    "date_created",
    "date_updated",
)
NEW = Schema(
    fields={
        **FIELDS,
        "title": Field(str, required=True, max_length=200),
        "message": Field(str, required=True, max_length=drafts.MAX_MESSAGE),
    },
    read_only=READ_ONLY,
)
REJECTION = Schema(fields={"reason": Field(str, nullable=True, max_length=500)}, may_be_empty=True)


class DeploymentBody(TypedDict):
    id: int
    title: str
    status: int
    status_name: str
    company: int
    created_by: int | None
    updated_by: int | None
    approved_by: int | None
    submitted_by: int | None
    editors: list[int]
    import_id: int | None
    marketing: bool
    optout: bool
    gsm_substitute: bool
    dispatch: int
    total_credits: int
    total_contacts: int
    quote_status: str
    send_date: Timestamp | None
    error: str | None
    linked_campaign: int | None
    message: str
    subject: str | None
    html: str | None
    contact_lists: list[int]
    sender: str | None
    source: str | None
    sent: int
    delivered: int  # of those sent
    failed: int
    unknown: int  # of those failed: left unknown by a crash (maybe sent, never sent again)
    opted_out: int
    resumes_at: Timestamp | None  # paused outside the permitted hours: when it goes on by itself
    waiting_reason: str | None  # approved but not started: send_date, quiet_hours or launching
    waiting_until: Timestamp | None  # when that wait ends, in the company's time zone
    date_created: Timestamp
    date_updated: Timestamp


DeploymentImportBody = TypedDict(
    "DeploymentImportBody", {**DeploymentBody.__annotations__, "import": ImportBody}
)


class QuoteBody(TypedDict):
    sender: str | None  # what the SMS go out from (null: the gateway's default number)
    sender_source: str  # deployment, company (its sender_id) or gateway_default
    recipients: int
    opted_out: int
    segments_total: int
    emails: int
    unreachable: int
    credits: int
    credits_if_substituted: int
    encoding: str
    non_gsm_chars: list[str]
    characters: int | None
    per_segment: int | None
    non_gsm: list[NonGsmBody]


class RecipientBody(TypedDict):
    channel: str
    msisdn: str | None
    email: str | None
    status: str
    segments: int | None
    provider_id: str | None
    error: str | None
    date_sent: Timestamp | None
    date_delivered: Timestamp | None


def render_deployment(deployment: Deployment, company: Company | None = None) -> DeploymentBody:
    """The deployment as the API shows it; `company` (read if needed) says why it waits and its zone."""
    held = None
    if deployment.launch_at is not None and deployment.status in (lifecycle.APPROVED, lifecycle.PAUSED):
        company = company or Company.get(deployment.company)
        held = waiting(deployment, company, clock.now())
    return {
        "id": deployment.id,
        "title": deployment.title,
        "status": deployment.status,
        "status_name": lifecycle.NAMES[deployment.status],
        "company": deployment.company,
        "created_by": deployment.created_by,
        "updated_by": deployment.updated_by,
        "approved_by": deployment.approved_by,
        "submitted_by": deployment.submitted_by,
        "editors": sorted(deployment.editors or ()),
        "import_id": deployment.import_id,
        "marketing": deployment.marketing,
        "optout": deployment.optout,
        "gsm_substitute": deployment.gsm_substitute,
        "dispatch": deployment.dispatch,
        "total_credits": deployment.total_credits,
        "total_contacts": deployment.total_contacts,
        "quote_status": deployment.quote_status or "current",
        "send_date": iso(deployment.send_date),
        "error": deployment.error,
        "linked_campaign": deployment.linked_campaign,
        "message": deployment.message,
        "subject": deployment.subject,
        "html": deployment.html,
        "contact_lists": list(deployment.contact_lists or []),
        "sender": deployment.sender,
        "source": deployment.source,
        "sent": deployment.sent_count,
        "delivered": deployment.delivered_count,
        "failed": deployment.failed_count,
        "unknown": deployment.unknown_count,
        "opted_out": deployment.blocked_count,
        "resumes_at": deployment.launch_at if _waits_for_hours(deployment) else None,
        "waiting_reason": held.reason if held else None,
        "waiting_until": in_zone(held.until, company.timezone) if held and company else None,
        "date_created": iso(deployment.date_created),
        "date_updated": iso(deployment.date_updated),
    }


def _waits_for_hours(deployment: Deployment) -> bool:
    """Paused outside the permitted hours (not by hand): it resumes by itself at `launch_at`."""
    return lifecycle.NAMES[deployment.status] == "paused" and deployment.launch_at is not None


def _id(raw: str) -> int:
    return object_id(raw, "deployment")


@endpoint(
    bp,
    "/deployments",
    query=(
        *PAGED,
        Param("status", "Only deployments in this status (its number or its name, e.g. `draft`)."),
        Param("linked_campaign", "Only the deployments of this campaign.", int),
    ),
)
def list_deployments(call: Call) -> Page[DeploymentBody]:
    raw = call.query("status")
    status = None
    if raw is not None:
        try:
            status = lifecycle.parse_status(raw)
        except ValueError as error:
            raise invalid_field("status", str(error)) from None
    page = drafts.list_deployments(call.caller, call.page(), status, call.query_id("linked_campaign"))
    company = get_company(call.caller)
    return {"results": [render_deployment(d, company) for d in page.items], "next": page.next}


@endpoint(bp, "/deployments", methods=("POST",), status=201, body=NEW)
def create_deployment(call: Call) -> DeploymentBody:
    return render_deployment(drafts.create(call.caller, call.body()))


@endpoint(
    bp,
    "/deployments/import",
    methods=("POST",),
    status=202,
    content_types=MULTIPART,
    body=Upload(
        {
            "title": "The deployment's title (the file's name unless given).",
            "message": "A template over the file's columns, where the file has no `message` column.",
        },
        kind="deployment",
    ),
)
def import_deployment(call: Call) -> DeploymentImportBody:
    """A CSV of destinations (with a `message` column, or the form's `message` template over its
    columns): the draft deployment, with its `import` job to follow."""
    upload, form = posted_file(call)
    title = form["title"].text.strip() if "title" in form else None
    message = form["message"].text if "message" in form else None
    draft, job = jobs.import_deployment(call.caller, upload, title or None, message or None)
    return {**render_deployment(draft), "import": render_import(job)}


@endpoint(bp, "/deployments/{deployment_id}")
def get_deployment(call: Call, deployment_id: str) -> DeploymentBody:
    return render_deployment(store.get(call.caller, _id(deployment_id)))


@endpoint(bp, "/deployments/{deployment_id}", methods=("PUT", "PATCH"), body=NEW)
def edit_deployment(call: Call, deployment_id: str) -> DeploymentBody:
    current = render_deployment(store.get(call.caller, _id(deployment_id)))
    changes = call.body(partial=call.request.method == "PATCH", current=current)
    return render_deployment(drafts.edit(call.caller, _id(deployment_id), changes))


@endpoint(bp, "/deployments/{deployment_id}", methods=("DELETE",))
def delete_deployment(call: Call, deployment_id: str) -> None:
    drafts.delete(call.caller, _id(deployment_id))


@endpoint(bp, "/deployments/{deployment_id}/report", methods=("POST",), status=202)
def report_deployment(call: Call, deployment_id: str) -> TaskBody:
    """A CSV of every recipient and a summary, written into the caller's filebox by a task."""
    return render_task(reports.start_report(call.caller, _id(deployment_id)))


@endpoint(bp, "/deployments/{deployment_id}/quote")
def quote_deployment(call: Call, deployment_id: str) -> QuoteBody:
    result = quotes.quote(call.caller, _id(deployment_id))
    sender, source = quotes.sending_from(store.get(call.caller, _id(deployment_id)), get_company(call.caller))
    return {"sender": sender, "sender_source": source, **result.as_dict()}


@endpoint(bp, "/deployments/{deployment_id}/submit", methods=("POST",))
def submit_deployment(call: Call, deployment_id: str) -> DeploymentBody:
    return render_deployment(drafts.submit(call.caller, _id(deployment_id)))


@endpoint(
    bp, "/deployments/{deployment_id}/approve", methods=("POST",), responses={202: TaskBody}, errors=(402,)
)
def approve_deployment(call: Call, deployment_id: str) -> Response | DeploymentBody:
    """Approve and freeze the audience and price: 200 with the approved deployment; 202 with a task for an
    audience too big to freeze at once."""
    approval = approvals.approve(call.caller, _id(deployment_id))
    if approval.task is not None:
        return Response(body=render_task(approval.task), status_code=202)
    return render_deployment(approval.deployment)


@endpoint(bp, "/deployments/{deployment_id}/reject", methods=("POST",), body=REJECTION)
def reject_deployment(call: Call, deployment_id: str) -> DeploymentBody:
    body = call.body()
    return render_deployment(drafts.reject(call.caller, _id(deployment_id), body.get("reason")))


@endpoint(bp, "/deployments/{deployment_id}/cancel", methods=("POST",))
def cancel_deployment(call: Call, deployment_id: str) -> DeploymentBody:
    return render_deployment(approvals.cancel(call.caller, _id(deployment_id)))


@endpoint(bp, "/deployments/{deployment_id}/pause", methods=("POST",))
def pause_deployment(call: Call, deployment_id: str) -> DeploymentBody:
    return render_deployment(launch.pause_now(call.caller, _id(deployment_id)))


@endpoint(bp, "/deployments/{deployment_id}/resume", methods=("POST",))
def resume_deployment(call: Call, deployment_id: str) -> DeploymentBody:
    return render_deployment(launch.resume_now(call.caller, _id(deployment_id)))


def render_recipient(recipient: Recipient) -> RecipientBody:
    email = recipient.channel == EMAIL
    return {
        "channel": recipient.channel or SMS,
        "msisdn": recipient.number if email else number_in(recipient.msisdn),
        "email": recipient.email,
        "status": recipient.status,
        "segments": recipient.segments,
        "provider_id": recipient.provider_id,
        "error": recipient.error,
        "date_sent": iso(recipient.date_sent),
        "date_delivered": iso(recipient.date_delivered),
    }


@endpoint(
    bp,
    "/deployments/{deployment_id}/messages",
    query=(*PAGED, Param("status", "Only the recipients in this status (queued, sent, failed ...).")),
)
def deployment_messages(call: Call, deployment_id: str) -> Page[RecipientBody]:
    """Per-recipient statuses (`?status=sent|failed|...`), in number order."""
    page = recipients.recipients(call.caller, _id(deployment_id), call.page(), call.query("status"))
    return {"results": [render_recipient(r) for r in page.items], "next": page.next}
