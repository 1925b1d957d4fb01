from typing import Any

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.audit import reading
from chalicelib.domain.audit.entries import OPERATOR
from chalicelib.domain.clock import iso
from chalicelib.models.audit import AuditEntry

bp = Blueprint(__name__)

FILTERS = (
    Param("actor", f"Entries of one user (their id), or `{OPERATOR}` for the platform operator's CLI."),
    Param("object", "Entries of one object (`deployment:42`) or of one type of object (`deployment`)."),
    Param("start", "Entries at or after this moment (ISO 8601; a date is midnight, company time)."),
    Param("end", "Entries at or before this moment (a date takes in that whole day)."),
)


class AuditObjectBody(TypedDict):
    type: str
    id: int | str


class AuditChangeBody(TypedDict):
    """A field's value before and after the change; a secret is `[changed]` (or null when none)."""

    before: Any
    after: Any


class AuditEntryBody(TypedDict):
    """One change: who made it (`actor`: a user id, or `operator`), with which credential (`key`:
    `api_key:<id>` or `session:<id>`, null for the operator), when, to what, and how."""

    id: int
    at: Timestamp
    actor: int | str
    key: str | None
    action: str
    object: AuditObjectBody
    changes: dict[str, AuditChangeBody]


def render_entry(entry: AuditEntry) -> AuditEntryBody:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": _number_or_text(entry.actor),
        "key": entry.key,
        "action": entry.action,
        "object": {"type": entry.object_type, "id": _number_or_text(entry.object_id)},
        "changes": entry.changes,
    }


def _number_or_text(value: str) -> int | str:
    return int(value) if value.isdigit() else value


@endpoint(bp, "/audit", query=(*FILTERS, *PAGED))
def list_audit(call: Call) -> Page[AuditEntryBody]:
    """Admins: the audit log, newest first: every change of users, keys, company settings, credits,
    opt-out overwrites and deployment approvals, rejections and cancellations."""
    filters = reading.Filters(
        actor=call.query("actor"),
        object=call.query("object"),
        start=call.query("start"),
        end=call.query("end"),
    )
    page = reading.list_entries(call.caller, filters, call.page())
    return {"results": [render_entry(e) for e in page.items], "next": page.next}
