from typing import Any

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.schema import Field, Schema, Upload
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.clock import iso
from chalicelib.domain.contacts.optouts import MAX_REASON
from chalicelib.domain.deployments.drafts import MAX_MESSAGE
from chalicelib.domain.errors import TooLarge, invalid_field
from chalicelib.domain.imports import jobs
from chalicelib.models.imports import Import
from chalicelib.storage import UPLOAD_FORM_SECONDS

bp = Blueprint(__name__)

# JSON is let through Chalice so that a request without a key is told 401 before anything else.
MULTIPART = ("multipart/form-data", "application/json")
_FORM_OVERHEAD = 64 * 1024
UPLOAD = Schema(
    fields={
        "kind": Field(
            str,
            required=True,
            choices=jobs.UPLOAD_KINDS,
            description="What the file becomes: contacts (POST /contact-lists/import), a deployment "
            "(POST /deployments/import) or opt-outs (POST /optouts/import).",
        ),
        "filename": Field(str, required=True, max_length=200),
        "contact_list": Field(
            int, nullable=True, description="contacts: the list to add to (a new list unless given)."
        ),
        "title": Field(
            str,
            nullable=True,
            max_length=200,
            description="contacts, deployment: the new list's or draft's title (the file's name "
            "unless given).",
        ),
        "message": Field(
            str,
            nullable=True,
            max_length=MAX_MESSAGE,
            description="deployment: a template over the file's columns, where the file has no "
            "`message` column.",
        ),
        "sender": Field(
            str, nullable=True, max_length=20, description="optouts: scope every opt-out to this sender id."
        ),
        "reason": Field(
            str,
            nullable=True,
            max_length=MAX_REASON,
            description="optouts: the reason recorded where a row gives none.",
        ),
    }
)


class ImportBody(TypedDict):
    """Poll `GET /imports/{id}` until `status` is complete or failed."""

    id: int
    kind: str
    contact_list: int | None
    sender: str | None
    deployment: int | None
    status: str
    filename: str | None
    rows: int
    imported: int
    updated: int
    duplicates: int
    rejected: int
    progress: int
    errors_file: int | None
    error: str | None
    date_created: Timestamp
    date_updated: Timestamp
    date_completed: Timestamp | None


# POST the file to `url` as a form with these `fields` and the file last, as `file`.
UploadBody = TypedDict("UploadBody", {"url": str, "fields": dict[str, Any], "import": ImportBody})


def render_import(job: Import) -> ImportBody:
    """While running, the counts cover the rows read so far; `progress` is a percentage of the file."""
    return {
        "id": job.id,
        "kind": job.kind,
        "contact_list": job.contact_list,
        "sender": (job.options or {}).get("sender"),
        "deployment": job.deployment,
        "status": job.status,
        "filename": job.filename,
        "rows": job.rows,
        "imported": job.imported,
        "updated": job.updated,
        "duplicates": job.duplicates,
        "rejected": job.rejected,
        "progress": job.progress,
        "errors_file": job.errors_file,
        "error": job.error,
        "date_created": iso(job.date_created),
        "date_updated": iso(job.date_updated),
        "date_completed": iso(job.date_completed),
    }


def posted_file(call: Call) -> tuple[jobs.Upload, dict]:
    """The CSV in the form field `file`, and the form's other fields as the route declares them (any
    other is a 400 naming it)."""
    declared = call.operation.body if call.operation is not None else None
    assert isinstance(declared, Upload), "the route declares no upload"
    try:
        form = call.form(jobs.MAX_DIRECT_BYTES + _FORM_OVERHEAD, allowed=("file", *declared.fields))
    except TooLarge:
        raise jobs.too_large(declared.kind) from None
    part = form.get("file")
    if part is None or part.filename is None:
        raise invalid_field("file", "is required: send the CSV as the form field `file`")
    return jobs.Upload(filename=part.filename, data=part.data), form


@endpoint(
    bp,
    "/contact-lists/import",
    methods=("POST",),
    status=202,
    content_types=MULTIPART,
    body=Upload({"title": "The new list's title (the file's name unless given)."}, kind="contacts"),
)
def import_new_list(call: Call) -> ImportBody:
    upload, form = posted_file(call)
    title = form["title"].text.strip() if "title" in form else None
    return render_import(jobs.import_contacts(call.caller, upload, title=title or None))


@endpoint(
    bp,
    "/contact-lists/{list_id}/import",
    methods=("POST",),
    status=202,
    content_types=MULTIPART,
    body=Upload({}, kind="contacts"),
)
def import_into_list(call: Call, list_id: str) -> ImportBody:
    upload, _ = posted_file(call)
    return render_import(
        jobs.import_contacts(call.caller, upload, list_id=object_id(list_id, "contact list"))
    )


UPLOAD_ANSWER_KEPT = UPLOAD_FORM_SECONDS - 600  # a replayed form has 10 minutes left at least


@endpoint(bp, "/uploads", methods=("POST",), status=201, body=UPLOAD, answers_kept=UPLOAD_ANSWER_KEPT)
def create_upload(call: Call) -> UploadBody:
    """An upload URL for a file of any size (an S3 form) to import as contacts, a deployment's
    recipients (the draft is made now: `import.deployment`) or opt-outs; the upload starts the import."""
    body = call.body()
    kind, filename = body.pop("kind"), body.pop("filename")
    presigned = jobs.presign_upload(call.caller, kind, filename, body)
    return {"url": presigned.url, "fields": presigned.fields, "import": render_import(presigned.job)}


@endpoint(
    bp,
    "/imports",
    query=(
        *PAGED,
        Param("status", "Only the imports in this status: pending, running, completed or failed."),
        Param("contact_list", "Only the imports into this contact list.", int),
    ),
)
def list_imports(call: Call) -> Page[ImportBody]:
    """The company's imports (contacts, deployments, opt-outs), newest first."""
    page = jobs.list_imports(call.caller, call.page(), call.query("status"), call.query_id("contact_list"))
    return {"results": [render_import(job) for job in page.items], "next": page.next}


@endpoint(bp, "/imports/{import_id}")
def get_import(call: Call, import_id: str) -> ImportBody:
    return render_import(jobs.get_import(call.caller, object_id(import_id, "import")))
