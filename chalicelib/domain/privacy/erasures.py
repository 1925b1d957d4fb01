"""Erasures (POPIA): an admin asks for a person to be erased; a task erases them from every table and
file of the company and leaves a record of who asked, when and what changed (counts only)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.audit.entries import record
from chalicelib.domain.background import tasks
from chalicelib.domain.errors import NotFound
from chalicelib.domain.imports import jobs
from chalicelib.domain.privacy.erase_files import erase_files
from chalicelib.domain.privacy.erase_records import erase_records, mark_erased_optout
from chalicelib.domain.privacy.person import person_of, person_to_erase
from chalicelib.domain.rules.lifecycle import Job
from chalicelib.domain.rules.modes import is_test, test_tenant
from chalicelib.models.base import transaction
from chalicelib.models.companies import Company
from chalicelib.models.counters import allocate_ids
from chalicelib.models.erasures import Erasure, leave_tombstone
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.tasks import Task

TASK_KIND = "erase_person"
COUNTS = (  # what an erasure record counts, every one always present
    "contacts_removed",
    "lists_touched",
    "recipients_rewritten",
    "messages_rewritten",
    "inbound_rewritten",
    "callbacks_rewritten",
    "optouts_rewritten",
    "other_rewritten",
    "files_deleted",
    "uploads_deleted",
)


def start_erasure(caller: Caller, msisdn: Any = None, email: Any = None) -> tuple[Erasure, Task]:
    """Admin: record the erasure of the person `msisdn` or `email` names and start its task."""
    caller.require("admin")
    company = get_company(caller)
    person = person_to_erase(caller.company, company.default_region, msisdn, email)
    erasure = Erasure(
        company=caller.company,
        id=allocate_ids("erasure")[0],
        channel=person.channel,
        person=person.token,
        pending_key=person.key,
        status=Job.PENDING,
        requested_by=caller.user,
        date_created=clock.now(),
    )
    with transaction() as write:
        write.save(erasure, condition=Erasure.id.does_not_exist())
        changes = {"channel": (None, person.channel), "person": (None, person.token)}
        record(write, caller, "erasure.requested", "erasure", erasure.id, changes)
    task = tasks.start(caller, TASK_KIND, {"erasure": erasure.id})
    erasure.update(actions=[Erasure.task.set(task.id)])
    return erasure, task


def get_erasure(caller: Caller, erasure_id: int) -> Erasure:
    caller.require("admin")
    erasure = Erasure.get_or_none(caller.company, erasure_id)
    if erasure is None:
        raise NotFound(f"There is no erasure {erasure_id}.")
    return erasure


def list_erasures(caller: Caller, page: PageRequest) -> Page:
    """The company's erasures, newest first."""
    caller.require("admin")
    return paginate(Erasure, caller.company, page, scan_index_forward=False)


def erase_task(task: Task) -> dict[str, Any]:
    """Erase the person once no import of the company is under way; safe to run again (what is already
    erased no longer names them)."""
    erasure = Erasure.get_or_none(task.company, task.params["erasure"], consistent_read=True)
    if erasure is None or erasure.pending_key is None:
        return {"erasure": task.params["erasure"]}
    scopes = _scopes(task.company)
    if any(jobs.under_way(scope) for scope in scopes):  # its upload may name them: deleting it would break it
        raise tasks.TaskBusy("an import of the company is under way: the erasure runs after it")
    erasure.update(actions=[Erasure.status.set(Job.RUNNING)])
    counts: Counter[str] = Counter(dict.fromkeys(COUNTS, 0))
    kept, deleted = False, []
    for scope in scopes:
        person = person_of(scope, erasure.channel, erasure.pending_key)
        leave_tombstone(scope, person.token, erasure.id)  # events still queued about them are redacted
        kept = erase_records(person, counts) or kept
        deleted += erase_files(person, counts)
    erasure.update(
        actions=[
            Erasure.status.set(Job.COMPLETED),
            Erasure.counts.set(dict(counts)),
            Erasure.files_deleted.set(deleted),
            Erasure.suppression_kept.set(kept),
            Erasure.pending_key.remove(),
            Erasure.date_completed.set(clock.now()),
        ]
    )
    return {"erasure": erasure.id, **counts, "suppression_kept": kept}


def _scopes(company: int) -> list[int]:
    """Where a person is erased: the company, and a live company's test data too (a test key may have
    imported real numbers there)."""
    if is_test(company) or Company.get_or_none(test_tenant(company)) is None:
        return [company]
    return [company, test_tenant(company)]


def erasure_failed(task: Task) -> None:
    """A failed erasure forgets the person too; it says so, and may be asked for again."""
    erasure = Erasure.get_or_none(task.company, task.params["erasure"])
    if erasure is not None and erasure.pending_key is not None:
        erasure.update(
            actions=[
                Erasure.status.set(Job.FAILED),
                Erasure.error.set(task.error or "The erasure could not be finished; ask for it again."),
                Erasure.pending_key.remove(),
            ]
        )


def mark_kept_optouts() -> list[int]:
    """Mark every company an erasure kept an opt-out of before erasures marked it (so its sends ask the
    erased tokens); the companies marked now. Run once after the upgrade; running it again marks none."""
    kept = {e.company for e in Erasure.scan(Erasure.suppression_kept == True)}  # noqa: E712
    unmarked = [c for c in sorted(kept) if (found := Company.get_or_none(c)) and not found.erased_optouts]
    for company in unmarked:
        mark_erased_optout(company)
    return unmarked
