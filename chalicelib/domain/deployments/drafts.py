"""Deployments: drafts, edits, submission, rejection, cancellation and quotes. Approval and the credits
it reserves live in `approvals`."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.accounts import sender_numbers
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.campaigns import check_campaign
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.audit.entries import record
from chalicelib.domain.deployments.imported import check_import_finished
from chalicelib.domain.deployments.quotes import refresh_quote
from chalicelib.domain.deployments.recipients import discard_recipients
from chalicelib.domain.deployments.store import get, unchanged_meanwhile
from chalicelib.domain.errors import InvalidInput, invalid_field
from chalicelib.domain.rules import lifecycle
from chalicelib.domain.rules.channels import DISPATCH, EMAIL
from chalicelib.domain.rules.email_content import MAX_HTML, encodable, sanitised_html, subject_problem
from chalicelib.domain.rules.lifecycle import DRAFT
from chalicelib.domain.rules.senders import normalise_sender
from chalicelib.domain.rules.templates import compile_template
from chalicelib.models.base import transaction
from chalicelib.models.contacts import ContactList
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Deployment
from chalicelib.models.pagination import Page, PageRequest, paginate

MAX_MESSAGE = 1600
MAX_DEPLOYMENT_HTML_BYTES = 100_000  # with the texts, under what a send chunk (an SQS message) holds
MAX_LISTS = 50
EDITABLE = (
    "title",
    "message",
    "subject",
    "html",
    "contact_lists",
    "sender",
    "marketing",
    "optout",
    "gsm_substitute",
    "dispatch",
    "send_date",
    "linked_campaign",
)


def check_changes(caller: Caller, data: dict[str, Any], *, source: str = "lists") -> dict[str, Any]:
    """Validate a deployment's writable fields (their JSON types are already checked)."""
    checked: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, value in data.items():
        try:
            checked[name] = _CHECKS[name](caller, value, source)
        except InvalidInput as error:
            problems.update(error.fields or {name: [error.message]})
        except ValueError as error:
            problems[name] = [str(error)]
    if problems:
        raise InvalidInput("; ".join(f"{k} {v[0]}" for k, v in problems.items()), fields=problems)
    return checked


def _title(caller: Caller, value: str, source: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 200:
        raise ValueError("must be 1 to 200 characters")
    return value


def _message(caller: Caller, value: str, source: str) -> str:
    if not value.strip() and source != "import":
        raise ValueError("must not be empty")
    if len(value) > MAX_MESSAGE:
        raise ValueError(f"must be at most {MAX_MESSAGE} characters")
    compile_template(value)
    return value


def _lists(caller: Caller, value: list, source: str) -> list[int]:
    if source == "import" and value:
        raise ValueError("this deployment has its own recipients (it was imported from a file)")
    if len(value) > MAX_LISTS or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"must be a list of at most {MAX_LISTS} contact list ids")
    ids = list(dict.fromkeys(value))
    missing = [i for i in ids if ContactList.get_or_none(caller.company, i) is None]
    if missing:
        raise ValueError(f"there is no contact list {missing[0]}")
    return ids


def _sender(caller: Caller, value: str | None, source: str) -> str | None:
    """An alphanumeric sender, or one of the company's own numbers (a number can receive replies)."""
    company = get_company(caller)
    sender = normalise_sender(value, company.default_region)
    sender_numbers.chosen(company, sender)
    return sender


def _flag(caller: Caller, value: bool, source: str) -> bool:
    return value


def _dispatch(caller: Caller, value: int, source: str) -> int:
    if value not in DISPATCH:
        raise ValueError("must be 1 (SMS), 2 (email) or 3 (both)")
    if value != 1 and source == "import":
        raise ValueError(
            "must be 1 (SMS) for a deployment imported from a file "
            "(import the file into a contact list to email it)"
        )
    return value


def _subject(caller: Caller, value: str | None, source: str) -> str | None:
    """An email's subject (required before an email deployment is submitted); it may hold placeholders."""
    value = (value or "").strip()
    if not value:
        return None
    problem = subject_problem(value)
    if problem:
        raise ValueError(problem)
    compile_template(value, "subject")
    return value


def _html(caller: Caller, value: str | None, source: str) -> str | None:
    """An email's HTML part, sanitised; the text part (`message`) is always sent beside it."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_HTML or not encodable(value):
        raise ValueError(f"must be valid text of at most {MAX_HTML} characters")
    clean = sanitised_html(value)
    if len(clean.encode()) > MAX_DEPLOYMENT_HTML_BYTES:
        raise ValueError(
            f"must be at most {MAX_DEPLOYMENT_HTML_BYTES:,} bytes once sanitised (it rides in every chunk)"
        )
    compile_template(clean, "html")
    return clean


def _send_date(caller: Caller, value: str | None, source: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO-8601 date and time, such as 2026-12-01T08:00:00Z") from None
    if moment.tzinfo is None:  # read in the company's own time zone, as the closed platform did
        moment = _local(moment, zoneinfo.ZoneInfo(get_company(caller).timezone))
    return moment.astimezone(UTC).replace(microsecond=0)


def _local(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """A wall-clock time in `zone`; one a clock change skips or repeats names no single moment."""
    early, late = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        raise ValueError(
            f"is not one moment in {zone.key} (the clocks change then): give its offset, such as Z"
        )
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
        raise ValueError(f"does not exist in {zone.key} (the clocks skip it): give its offset, such as Z")
    return early


def _campaign(caller: Caller, value: int | None, source: str) -> int | None:
    return check_campaign(caller, value, "linked_campaign")


_CHECKS = {
    "title": _title,
    "message": _message,
    "contact_lists": _lists,
    "sender": _sender,
    "marketing": _flag,
    "optout": _flag,
    "gsm_substitute": _flag,
    "dispatch": _dispatch,
    "subject": _subject,
    "html": _html,
    "send_date": _send_date,
    "linked_campaign": _campaign,
}


def create(caller: Caller, data: dict[str, Any], source: str = "lists") -> Deployment:
    checked = check_changes(caller, data, source=source)
    now = clock.now()
    deployment = Deployment(
        company=caller.company,
        id=allocate_ids("deployment")[0],
        status=DRAFT,
        source=source,
        created_by=caller.user,
        updated_by=caller.user,
        editors={caller.user} if caller.user is not None else None,
        date_created=now,
        date_updated=now,
        **checked,
    )
    deployment.save(condition=Deployment.id.does_not_exist())
    if source != "import":  # an imported draft is quoted once its import completes
        refresh_quote(caller, deployment)
    return get(caller, deployment.id)


def list_deployments(
    caller: Caller, page: PageRequest, status: int | None = None, campaign: int | None = None
) -> Page:
    """Newest first, of one status or one `linked_campaign` when asked (the company's query, filtered)."""
    conditions = [
        *([] if status is None else [Deployment.status == status]),
        *([] if campaign is None else [Deployment.linked_campaign == campaign]),
    ]
    condition = None
    for part in conditions:
        condition = part if condition is None else condition & part
    return paginate(Deployment, caller.company, page, filter_condition=condition, scan_index_forward=False)


def edit(caller: Caller, deployment_id: int, data: dict[str, Any]) -> Deployment:
    """Edit a draft, or a deployment awaiting approval (which goes back to draft: it must be submitted
    and approved again, so no approval ever covers text the approver did not see)."""
    deployment = get(caller, deployment_id)
    target = lifecycle.move("edit", deployment.status)
    checked = check_changes(caller, data, source=deployment.source)
    actions = [getattr(Deployment, name).set(value) for name, value in checked.items() if value is not None]
    actions += [getattr(Deployment, name).remove() for name, value in checked.items() if value is None]
    actions += [
        Deployment.status.set(target),
        Deployment.version.add(1),
        Deployment.updated_by.set(caller.user),
        *_editor(caller),
        Deployment.date_updated.set(clock.now()),
    ]
    _update(deployment, actions, expected_status=deployment.status)
    refresh_quote(caller, get(caller, deployment.id))
    return get(caller, deployment.id)


def submit(caller: Caller, deployment_id: int) -> Deployment:
    deployment = get(caller, deployment_id)
    target = lifecycle.move("submit", deployment.status)
    if not deployment.message.strip() and deployment.source != "import":
        raise invalid_field("message", "is required before submitting")
    if deployment.source == "lists" and not deployment.contact_lists:
        raise invalid_field("contact_lists", "name at least one contact list before submitting")
    if EMAIL in DISPATCH[deployment.dispatch] and not deployment.subject:
        raise invalid_field("subject", "is required before submitting a deployment that sends email")
    check_import_finished(deployment)
    _update(
        deployment,
        [
            Deployment.status.set(target),
            Deployment.error.remove(),
            Deployment.submitted_by.set(caller.user) if caller.user else Deployment.submitted_by.remove(),
            Deployment.date_updated.set(clock.now()),
        ],
        expected_status=deployment.status,
    )
    return deployment


def _editor(caller: Caller) -> list:
    """The caller joins the people who wrote the deployment's content (an operator is nobody)."""
    return [] if caller.user is None else [Deployment.editors.add({caller.user})]


def reject(caller: Caller, deployment_id: int, reason: str | None) -> Deployment:
    """An approver sends a deployment back to draft, saying why (shown in `error`)."""
    caller.require("approver", "admin")
    deployment = get(caller, deployment_id)
    target = lifecycle.move("reject", deployment.status)
    note = (f"Rejected: {reason.strip()}" if reason and reason.strip() else "Rejected.")[:500]
    actions = [
        Deployment.status.set(target),
        Deployment.error.set(note),
        Deployment.version.add(1),
        Deployment.date_updated.set(clock.now()),
    ]
    changes = {
        "status": (lifecycle.NAMES[deployment.status], lifecycle.NAMES[target]),
        "error": (deployment.error, note),
    }
    with unchanged_meanwhile(), transaction() as write:
        write.update(deployment, actions=actions, condition=_unmoved(deployment))
        record(write, caller, "deployment.rejected", "deployment", deployment.id, changes)
    return Deployment.get(deployment.company, deployment.id, consistent_read=True)


def delete(caller: Caller, deployment_id: int) -> None:
    deployment = get(caller, deployment_id)
    lifecycle.move("delete", deployment.status)
    with unchanged_meanwhile():
        deployment.delete(condition=Deployment.status == DRAFT)
    discard_recipients(deployment)


def _update(deployment: Deployment, actions: list, expected_status: int) -> None:
    """Apply `actions` only if nobody moved the deployment since it was read."""
    with unchanged_meanwhile():
        deployment.update(actions=actions, condition=_unmoved(deployment, expected_status))


def _unmoved(deployment: Deployment, expected_status: int | None = None) -> Any:
    """The deployment is still in the status and version it was read in (or `expected_status`)."""
    status = deployment.status if expected_status is None else expected_status
    return (Deployment.status == status) & (Deployment.version == deployment.version)
