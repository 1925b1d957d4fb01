"""Import jobs: how a file reaches the import worker (a direct post or a presigned upload) and its state."""

from __future__ import annotations

import contextlib
import functools
import operator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib import storage
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.contacts import contact_lists
from chalicelib.domain.contacts.optouts import MAX_REASON, check_sender
from chalicelib.domain.errors import NotFound, TooLarge, invalid_field
from chalicelib.domain.files.filebox import safe_name
from chalicelib.domain.rules.lifecycle import Job, job_status
from chalicelib.models.base import condition_failed
from chalicelib.models.contacts import ContactList
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Deployment
from chalicelib.models.imports import IMPORT_LEASE, Import
from chalicelib.models.pagination import Page, PageRequest, paginate, paginate_filtered

MAX_DIRECT_BYTES = 4 * 1024 * 1024
MAX_UPLOAD_BYTES = 5 * 1024**3
# What each kind of upload takes besides its `filename`: the fields its direct import route takes.
UPLOAD_FIELDS = {
    "contacts": ("contact_list", "title"),
    "deployment": ("title", "message"),
    "optouts": ("sender", "reason"),
}
UPLOAD_KINDS = tuple(UPLOAD_FIELDS)


@dataclass(frozen=True)
class Upload:
    """A file a client sent in the request body."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class PresignedUpload:
    job: Import
    url: str
    fields: dict[str, str]


def upload_key(company: int, import_id: int, filename: str) -> str:
    """Where an upload lands; the import worker reads the company and the job back out of it."""
    return f"uploads/{company}/{import_id}/{safe_name(filename)}"


def parse_upload_key(key: str) -> tuple[int, int] | None:
    """The company (a test tenant's is negative) and the job an upload's key names, or None."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "uploads" or not parts[2].isdigit():
        return None
    company = parts[1].removeprefix("-")
    if not company.isdigit() or company.startswith("0"):
        return None
    return int(parts[1]), int(parts[2])


def import_contacts(
    caller: Caller, upload: Upload, list_id: int | None = None, title: str | None = None
) -> Import:
    """Start importing a posted file into a list (a new one titled `title` when no list is named)."""
    _check_size(upload, "contacts")
    job = _new_job(caller, upload.filename, list_id=list_id, title=title)
    _store(job, upload)
    return job


def import_deployment(
    caller: Caller, upload: Upload, title: str | None, message: str | None
) -> tuple[Deployment, Import]:
    """A draft deployment with its own recipients from a file: a `destination` column (or any phone
    header) and either a `message` column or `message`, a template over the file's other columns. An
    import that fails leaves the draft with its reason in `error`."""
    _check_size(upload, "deployment")
    draft, job = _deployment_job(caller, upload.filename, title, message)
    _store(job, upload)
    return draft, job


def import_optouts(
    caller: Caller, upload: Upload, sender: str | None = None, reason: str | None = None
) -> Import:
    """Start importing a file of numbers (with an optional `reason` column) as opt-outs of one scope."""
    options = _optout_options(caller, sender, reason)
    _check_size(upload, "optouts")
    job = _new_job(caller, upload.filename, kind="optouts", options=options)
    _store(job, upload)
    return job


def _deployment_job(
    caller: Caller, filename: str, title: str | None, message: str | None
) -> tuple[Deployment, Import]:
    """The draft an imported file fills, and its job, linked both ways."""
    from chalicelib.domain.deployments import drafts

    draft = drafts.create(
        caller, {"title": title or _title_from(filename), "message": message or ""}, source="import"
    )
    job = _new_job(caller, filename, kind="deployment", deployment=draft.id)
    draft.update(actions=[Deployment.import_id.set(job.id)])
    return draft, job


def _optout_options(caller: Caller, sender: str | None, reason: str | None) -> dict[str, str | None]:
    """The scope and default reason every opt-out of an import gets, checked (a sender number read
    with the company's phone rules)."""
    sender = check_sender(sender, get_company(caller).default_region)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise invalid_field("reason", f"must be at most {MAX_REASON} characters")
    return {"sender": sender, "reason": reason}


def too_large(kind: str) -> TooLarge:
    """The 413 of a file too large to post, naming the upload that takes it (`kind` as POST /uploads
    says it)."""
    return TooLarge(
        f"Files over {MAX_DIRECT_BYTES // (1024 * 1024)} MiB cannot be posted directly; ask "
        f'POST /uploads with "kind": "{kind}", the "filename" and this form\'s other fields for an '
        "upload URL instead (any size).",
        code="file_too_large",
    )


def _check_size(upload: Upload, kind: str) -> None:
    if len(upload.data) > MAX_DIRECT_BYTES:
        raise too_large(kind)
    if not upload.data:
        raise invalid_field("file", "is empty")


def _store(job: Import, upload: Upload) -> None:
    """Put the file where the bucket notification starts the import."""
    try:
        storage.put(job.source_key, upload.data)
    except Exception:
        fail(job, "The file could not be stored; please try again.")
        raise


def presign_upload(caller: Caller, kind: str, filename: str, fields: dict[str, Any]) -> PresignedUpload:
    """A job waiting for its file (for a deployment, with its draft), and the form that uploads it
    straight to S3 (which starts the import). `fields` are those the kind's direct import takes."""
    if kind not in UPLOAD_FIELDS:
        raise invalid_field("kind", f"must be one of {', '.join(UPLOAD_KINDS)}")
    for name, value in fields.items():
        if value is not None and name not in UPLOAD_FIELDS[kind]:
            taken = ", ".join(UPLOAD_FIELDS[kind])
            raise invalid_field(name, f'is not taken by an upload of kind "{kind}" (it takes {taken})')
    title = (fields.get("title") or "").strip() or None
    if kind == "deployment":
        _, job = _deployment_job(caller, filename, title, fields.get("message") or None)
    elif kind == "optouts":
        options = _optout_options(caller, (fields.get("sender") or "").strip() or None, fields.get("reason"))
        job = _new_job(caller, filename, kind="optouts", options=options)
    else:
        job = _new_job(caller, filename, list_id=fields.get("contact_list"), title=title)
    post = storage.presigned_post(job.source_key, MAX_UPLOAD_BYTES)
    return PresignedUpload(job=job, url=post["url"], fields=post["fields"])


def under_way(company: int) -> bool:
    """Whether an import of the company is pending or running and moved within the last hour (a form's
    life: a job whose file never came, or whose worker died, does not count). Reads its imports once."""
    since = clock.now() - timedelta(seconds=storage.UPLOAD_FORM_SECONDS)
    moving = Import.status.is_in(Job.PENDING, Job.RUNNING) & (Import.date_updated > since)
    return any(True for _ in Import.query(company, filter_condition=moving, attributes_to_get=["id"]))


def get_import(caller: Caller, import_id: int) -> Import:
    job = Import.get_or_none(caller.company, import_id)
    if job is None:
        raise NotFound(f"There is no import {import_id}.")
    return job


def list_imports(
    caller: Caller, page: PageRequest, status: str | None = None, contact_list: int | None = None
) -> Page:
    """The company's imports, newest first, of one status or into one contact list when asked."""
    conditions = []
    if status is not None:
        conditions.append(Import.status == job_status(status))
    if contact_list is not None:
        conditions.append(Import.contact_list == contact_list)
    if not conditions:
        return paginate(Import, caller.company, page, scan_index_forward=False)
    condition = functools.reduce(operator.and_, conditions)
    return paginate_filtered(Import, caller.company, page, condition, scan_index_forward=False)


def fail(job: Import, reason: str) -> None:
    """End a job that has not ended as failed, drop its saved state, and recount its list exactly:
    a job that stops partway keeps the contacts it already wrote."""
    try:
        job.update(
            actions=[
                Import.status.set(Job.FAILED),
                Import.error.set(reason),
                *IMPORT_LEASE.release(),
                Import.date_updated.set(clock.now()),
                Import.date_completed.set(clock.now()),
            ],
            condition=Import.status.is_in(Job.PENDING, Job.RUNNING),
        )
    except Exception as error:
        if condition_failed(error):
            return
        raise
    storage.delete_prefix(state_prefix(job))
    if job.deployment is not None:
        with contextlib.suppress(Exception):  # a draft deleted meanwhile has nowhere to say it
            Deployment(company=job.company, id=job.deployment).update(
                actions=[Deployment.error.set(f"The import of {job.filename} failed: {reason}"[:500])],
                condition=Deployment.id.exists(),
            )
    contact_list = ContactList.get_or_none(job.company, job.contact_list) if job.contact_list else None
    if contact_list is not None:
        contact_lists.recount(contact_list)


def state_prefix(job: Import) -> str:
    """Where the import worker keeps what it saves between invocations (filters, error rows)."""
    return f"state/imports/{job.company}/{job.id}/"


def _new_job(
    caller: Caller,
    filename: str,
    list_id: int | None = None,
    title: str | None = None,
    kind: str = "contacts",
    options: dict | None = None,
    deployment: int | None = None,
) -> Import:
    filename = (filename or "").strip() or "upload.csv"
    contact_list, merge = None, 1
    if kind == "contacts" and list_id is not None:
        contact_list = contact_lists.get_writable_list(caller, list_id).id
    elif kind == "contacts":
        contact_list, merge = contact_lists.create_list(caller, title or _title_from(filename)).id, 0
    import_id = allocate_ids("import")[0]
    now = clock.now()
    job = Import(
        company=caller.company,
        id=import_id,
        kind=kind,
        user=caller.user or 0,
        contact_list=contact_list,
        deployment=deployment,
        merge=merge,
        options=options,
        status=Job.PENDING,
        filename=filename[:200],
        source_key=upload_key(caller.company, import_id, filename),
        date_created=now,
        date_updated=now,
    )
    job.save(condition=Import.id.does_not_exist())
    return job


def _title_from(filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0].strip()
    return (stem or "Imported contacts")[:200]


def give_up(company: int, import_id: int, reason: str) -> None:
    """An import whose message failed on its last attempt fails, saying why; what it imported stays."""
    job = Import.get_or_none(company, import_id, consistent_read=True)
    if job is not None:
        fail(job, f"The import could not be finished ({reason}); the rows imported before that are kept.")


def give_up_upload(key: str, reason: str) -> None:
    """The same for an upload's S3 notification, found by the object's key."""
    ids = parse_upload_key(key)
    if ids:
        give_up(*ids, reason)
