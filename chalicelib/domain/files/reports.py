"""CSV files for people: a deployment's report (one row per recipient, then a summary) and a contact
list's export, streamed to the caller's filebox in parts, so a million rows fit in bounded memory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.background import tasks
from chalicelib.domain.contacts import audience, contact_lists
from chalicelib.domain.deployments import store
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.files import filebox
from chalicelib.domain.files.exports import write_csv
from chalicelib.domain.rules.channels import EMAIL, SMS
from chalicelib.domain.rules.destinations import number_in
from chalicelib.domain.rules.lifecycle import DRAFT, PENDING_APPROVAL, is_charged
from chalicelib.models.contacts import Contact, ContactList
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.models.tasks import Task

REPORT_HEADER = (
    "msisdn",
    "channel",
    "email",
    "first_name",
    "last_name",
    "status",
    "segments",
    "credits",
    "provider_id",
    "error",
    "date_sent",
    "date_delivered",
)
CONTACT_HEADER = ("msisdn", "first_name", "last_name", "email")


def start_report(caller: Caller, deployment_id: int) -> Task:
    deployment = store.get(caller, deployment_id)
    if deployment.status in (DRAFT, PENDING_APPROVAL):
        raise Conflict("A deployment has recipients once it is approved.", code="no_recipients")
    return tasks.start(caller, "deployment_report", {"deployment": deployment.id})


def start_export(caller: Caller, list_id: int) -> Task:
    return tasks.start(
        caller, "export_contacts", {"contact_list": contact_lists.get_list(caller, list_id).id}
    )


def credits_of(recipient: Recipient) -> int:
    """What sending to this recipient cost: its segments once the gateway took the message."""
    return (recipient.segments or 0) if is_charged(recipient.status, recipient.date_sent is not None) else 0


def _time(moment: datetime | None) -> str:
    return clock.iso(moment) if moment else ""


class _ReportRows:
    """The recipient rows, then the summary; counts as it goes, so nothing is held but the counts."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.statuses: Counter = Counter()
        self.credits = 0

    def __iter__(self) -> Iterator[list[Any]]:
        for r in audience.recipients_of(self.deployment.id):
            credits = credits_of(r)
            self.statuses[r.status] += 1
            self.credits += credits
            email = r.channel == EMAIL
            yield [
                (r.number if email else number_in(r.msisdn)) or "",
                r.channel or SMS,
                r.email or "",
                r.first_name or "",
                r.last_name or "",
                r.status,
                r.segments if r.segments is not None else "",
                credits,
                r.provider_id or "",
                r.error or "",
                _time(r.date_sent),
                _time(r.date_delivered),
            ]
        yield []
        yield ["summary", self.deployment.title]
        for name, value in self.summary().items():
            yield [name, value]

    def summary(self) -> dict[str, int]:
        return {
            "recipients": sum(self.statuses.values()),
            **dict(sorted(self.statuses.items())),
            "credits": self.credits,
        }


def _file_id(task: Task) -> int:
    """The task's file id, chosen once (a rerun overwrites the same file)."""
    if "file" not in task.params:
        task.update(actions=[Task.params.set({**task.params, "file": allocate_ids("file")[0]})])
    return task.params["file"]


def write_report(task: Task) -> dict[str, Any]:
    deployment = Deployment.get_or_none(task.company, task.params["deployment"])
    if deployment is None:
        raise NotFound(f"Deployment {task.params['deployment']} was deleted.")
    file_id = _file_id(task)
    name = f"deployment-{deployment.id}-report-{file_id}.csv"
    key = filebox.key_for(task.company, task.user or 0, name)
    rows = _ReportRows(deployment)
    size, _ = write_csv(key, REPORT_HEADER, rows, safe_columns=(0,))
    filebox.record(file_id, task.company, task.user or 0, name, "deployment_report", key, size)
    return {"file": file_id, **rows.summary()}


def write_contacts_export(task: Task) -> dict[str, Any]:
    """Two passes: the first finds every field name (the columns), the second writes the rows."""
    contact_list = ContactList.get_or_none(task.company, task.params["contact_list"])
    if contact_list is None:
        raise NotFound(f"Contact list {task.params['contact_list']} was deleted.")
    names: set[str] = set()
    for contact in Contact.query(contact_list.id, attributes_to_get=["fields"], page_size=1000):
        names.update(contact.fields.as_dict() if contact.fields else {})
    columns = sorted(names)
    file_id = _file_id(task)
    name = f"contact-list-{contact_list.id}-{file_id}.csv"
    key = filebox.key_for(task.company, task.user or 0, name)
    rows = (
        [number_in(c.msisdn) or "", c.first_name or "", c.last_name or "", c.email or ""]
        + [(c.fields.as_dict() if c.fields else {}).get(n, "") for n in columns]
        for c in Contact.query(contact_list.id, page_size=1000)
    )
    size, count = write_csv(key, (*CONTACT_HEADER, *columns), rows, safe_columns=(0,))
    filebox.record(file_id, task.company, task.user or 0, name, "contacts_export", key, size)
    return {"file": file_id, "rows": count}
