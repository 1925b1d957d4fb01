"""Filling contact lists from what the company already has: refreshing a list from its saved query, and
saving contacts into a list from a saved query, other lists or a deployment's recipients.

Everything streams in number order (each list and each deployment is stored sorted by number), so a
list is compared with what it should hold number by number, a page of each source in memory at a time,
and only the differences are written. Running a refresh again writes nothing; saving again adds nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.background import leases, tasks
from chalicelib.domain.contacts import audience, contact_lists, optouts, saved_queries
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound, invalid_field
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.rules.destinations import number_in, person_key
from chalicelib.domain.rules.lifecycle import DELIVERY_STATUSES
from chalicelib.domain.rules.query_language import Query, parse
from chalicelib.models import batch
from chalicelib.models.base import condition_failed
from chalicelib.models.contacts import Contact, ContactList, contact_item, contact_key, stored_datetime
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.models.saved_queries import SavedQuery
from chalicelib.models.tasks import Task

PAGE = 100  # numbers whose opt-outs are read together
WRITES = 500  # changes written together
MAX_SOURCE_LISTS = 100


@dataclass(frozen=True)
class Person:
    """What a contact list stores about a number, from wherever it came."""

    msisdn: str
    first_name: str | None
    last_name: str | None
    email: str | None
    fields: dict[str, str]

    @classmethod
    def of(cls, source: Contact | Recipient) -> Person:
        """The person a contact or a recipient row is; an email row is its person's contact key."""
        email_row = getattr(source, "channel", None) == EMAIL
        return cls(
            person_key(source.number, source.email) if email_row else source.msisdn,
            source.first_name,
            source.last_name,
            source.email,
            source.fields.as_dict() if source.fields else {},
        )


class _Reading:
    """One contact as the query language reads it (`chalicelib.domain.rules.query_language.Subject`)."""

    def __init__(self, contact: Contact, lists: set[int], blocked: bool) -> None:
        self.contact, self.lists, self.blocked = contact, lists, blocked

    def value(self, field: str) -> str | None:
        if field.startswith("fields."):
            return (self.contact.fields.as_dict() if self.contact.fields else {}).get(field[7:])
        if field == "msisdn":
            return number_in(self.contact.msisdn)
        return getattr(self.contact, field)

    def in_list(self, list_id: int) -> bool:
        return list_id in self.lists

    def opted_out(self) -> bool:
        return self.blocked


# ---- what a list should hold ----------------------------------------------------------------------


def source_lists(company: int) -> dict[int, int]:
    """The lists people fill (imports, the API), with their sizes: a query reads these, never lists
    defined by queries."""
    return {c.id: c.contact_count for c in ContactList.query(company) if c.saved_query is None}


def matching(company: int, query: Query, sources: Collection[int]) -> Iterator[Person]:
    """Each number on the `sources` lists that the query accepts, in number order, with its latest
    accepted contact."""
    for page in audience.pages(audience.numbers_across(sorted({*sources, *query.lists})), PAGE):
        blocked = optouts.opted_out_of_any(company, [n for n, _ in page]) if query.asks_opted_out else set()
        for msisdn, found in page:
            lists = set(found)
            accepted = [
                contact
                for list_id, contact in found.items()
                if list_id in sources and query.matches(_Reading(contact, lists, msisdn in blocked))
            ]
            if accepted:
                yield Person.of(max(accepted, key=_latest))


def _latest(contact: Contact) -> tuple:
    """The most recently updated contact wins; in the same second, the one on the newest list."""
    return contact.date_updated, contact.contact_list


def _from_lists(list_ids: list[int]) -> Iterator[Person]:
    for _, found in audience.numbers_across(list_ids):
        yield Person.of(max(found.values(), key=_latest))


def _from_recipients(deployment: Deployment, status: str) -> Iterator[Person]:
    """The people of a deployment's rows in `status`, in key order, each once. An email row's person is
    keyed by its number, out of the rows' order: the people of a deployment that emails are gathered
    and sorted first."""
    people = (Person.of(r) for r in audience.recipients_of(deployment.id) if r.status == status)
    if deployment.dispatch == 1:
        yield from people
        return
    gathered = {person.msisdn: person for person in people}
    yield from (gathered[key] for key in sorted(gathered))


# ---- writing the differences ------------------------------------------------------------------------


class _Changes:
    """Contacts to put and to delete in one list, written in batches (puts on a few threads while the
    sources are read on); counts what changed. `finish` waits for every write."""

    def __init__(self, contact_list: ContactList, task: Task, total: int) -> None:
        self.list, self.task, self.total = contact_list, task, total
        self.writer = batch.ConcurrentWriter(Contact.Meta.table_name)
        self.puts: list[tuple[Person, Contact | None]] = []
        self.deletes: list[str] = []
        self.added = self.updated = self.removed = self.seen = 0

    def put(self, person: Person, old: Contact | None) -> None:
        self.puts.append((person, old))
        if len(self.puts) >= WRITES:
            self.flush()

    def delete(self, msisdn: str) -> None:
        self.deletes.append(msisdn)
        if len(self.deletes) >= WRITES:
            self.flush()

    def flush(self) -> None:
        if self.puts:
            new = [person for person, old in self.puts if old is None]
            ids = iter(allocate_ids("contact", len(new)) if new else ())
            now = stored_datetime(clock.now())
            self.writer.submit([self._item(p, old, ids, now) for p, old in self.puts])
            self.added += len(new)
            self.updated += len(self.puts) - len(new)
            self.puts = []
        if self.deletes:
            batch.delete_keys(
                Contact.Meta.table_name,
                [contact_key(self.list.id, m) for m in self.deletes],
            )
            self.removed += len(self.deletes)
            self.deletes = []
        tasks.report_progress(self.task, self.seen, self.total)

    def finish(self) -> None:
        self.flush()
        self.writer.wait()

    def __enter__(self) -> _Changes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.writer.close()

    def _item(self, person: Person, old: Contact | None, ids: Iterator[int], now: str) -> dict[str, Any]:
        return contact_item(
            contact_list=self.list.id,
            msisdn=person.msisdn,
            contact_id=old.id if old else next(ids),
            company=self.list.company,
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email,
            fields=person.fields,
            created=stored_datetime(old.date_created) if old else now,
            updated=now,
        )


def _joined(wanted: Iterable[Person], list_id: int) -> Iterator[tuple[str, Person | None, Contact | None]]:
    """`wanted` beside the list's present contacts, number by number (both in number order)."""
    wanting = iter(wanted)
    present = iter(Contact.query(list_id, consistent_read=True, page_size=1000))
    want, have = next(wanting, None), next(present, None)
    while want is not None or have is not None:
        if have is None or (want is not None and want.msisdn < have.msisdn):
            yield want.msisdn, want, None
            want = next(wanting, None)
        elif want is None or have.msisdn < want.msisdn:
            yield have.msisdn, None, have
            have = next(present, None)
        else:
            yield want.msisdn, want, have
            want, have = next(wanting, None), next(present, None)


def _same(person: Person, contact: Contact) -> bool:
    return person == Person.of(contact)


def make_members(
    contact_list: ContactList, wanted: Iterable[Person], task: Task, total: int
) -> dict[str, int]:
    """Make the list hold exactly `wanted` (in number order): add, update and remove as needed."""
    members = 0
    with _Changes(contact_list, task, total) as changes:
        for _, want, have in _joined(wanted, contact_list.id):
            changes.seen += 1
            if want is None:
                changes.delete(have.msisdn)
                continue
            members += 1
            if have is None or not _same(want, have):
                changes.put(want, have)
        changes.finish()
    with _unless_deleted(contact_list):
        contact_list.update(
            actions=[
                ContactList.contact_count.set(members),
                ContactList.date_refreshed.set(clock.now()),
                ContactList.date_updated.set(clock.now()),
            ],
            condition=ContactList.id.exists(),
        )
    return {
        "members": members,
        "added": changes.added,
        "updated": changes.updated,
        "removed": changes.removed,
    }


def add_members(
    contact_list: ContactList, wanted: Iterable[Person], task: Task, total: int
) -> dict[str, int]:
    """Add every number of `wanted` the list does not have yet; those it has are left as they are."""
    already = 0
    with _Changes(contact_list, task, total) as changes:
        for _, want, have in _joined(wanted, contact_list.id):
            changes.seen += 1
            if want is not None and have is None:
                changes.put(want, None)
            elif want is not None:
                already += 1
        changes.finish()
    with _unless_deleted(contact_list):
        if task.attempts > 1:  # an earlier run may have written contacts it never counted
            added = contact_lists.recount(contact_list) - task.params["start_count"]
            return {"added": added, "already_in_list": already + changes.added - added}
        contact_lists.add_to_count(contact_list, changes.added)
    return {"added": changes.added, "already_in_list": already}


@contextlib.contextmanager
def _unless_deleted(contact_list: ContactList) -> Iterator[None]:
    """A list deleted while a task filled it: take away what the task wrote too, and say so."""
    try:
        yield
    except UpdateError as error:
        if not condition_failed(error):
            raise
        contact_lists.delete_contacts_of(contact_list.id)
        raise NotFound(f"Contact list {contact_list.id} was deleted.") from None


@contextlib.contextmanager
def _alone(company: int, list_id: int) -> Iterator[None]:
    """One task fills a list at a time (two would both add a number, and count it twice)."""
    with leases.held(f"list-{company}-{list_id}", seconds=tasks.LEASE_SECONDS) as mine:
        if not mine:
            raise tasks.TaskBusy(f"contact list {list_id} is being filled by another task")
        yield


# ---- starting and running the tasks -------------------------------------------------------------------


def start_save_contacts(caller: Caller, list_id: int, source: Any) -> Task:
    """Check the source (exactly one of `saved_query`, `contact_lists`, `deployment` with `status`)."""
    target = contact_lists.get_writable_list(caller, list_id)
    if not isinstance(source, dict):
        raise InvalidInput("The body must be a JSON object.", code="invalid_body")
    kinds = [k for k in ("saved_query", "contact_lists", "deployment") if k in source]
    unknown = sorted(set(source) - {"saved_query", "contact_lists", "deployment", "status"})
    if unknown:
        raise invalid_field(unknown[0], "is not a source; use saved_query, contact_lists or deployment")
    if len(kinds) != 1:
        raise InvalidInput(
            "Give exactly one source: saved_query, contact_lists, or deployment with status.",
            code="invalid_source",
            fields={"source": ["exactly one of saved_query, contact_lists, deployment"]},
        )
    params: dict[str, Any] = {"contact_list": target.id, **_checked_source(caller, kinds[0], source, target)}
    return tasks.start(caller, "save_contacts", params)


def _checked_source(caller: Caller, kind: str, source: dict, target: ContactList) -> dict[str, Any]:
    value = source[kind]
    if kind != "deployment" and "status" in source:
        raise invalid_field("status", "only goes with a deployment")
    if kind == "saved_query":
        if not _is_id(value) or SavedQuery.get_or_none(caller.company, value) is None:
            raise invalid_field("saved_query", f"there is no saved query {value}")
        return {"saved_query": value}
    if kind == "contact_lists":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_SOURCE_LISTS:
            raise invalid_field(
                "contact_lists", f"must be a list of 1 to {MAX_SOURCE_LISTS} contact list ids"
            )
        for list_id in value:
            if not _is_id(list_id) or ContactList.get_or_none(caller.company, list_id) is None:
                raise invalid_field("contact_lists", f"there is no contact list {list_id}")
            if list_id == target.id:
                raise invalid_field("contact_lists", "must not include the list saved into")
        return {"contact_lists": list(dict.fromkeys(value))}
    if not _is_id(value) or Deployment.get_or_none(caller.company, value) is None:
        raise invalid_field("deployment", f"there is no deployment {value}")
    status = source.get("status")
    if status not in DELIVERY_STATUSES:
        raise invalid_field("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
    return {"deployment": value, "status": status}


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**18


def _live_list(company: int, list_id: int) -> ContactList:
    found = ContactList.get_or_none(company, list_id, consistent_read=True)
    if found is None:
        raise NotFound(f"Contact list {list_id} was deleted.")
    return found


def _query_of(company: int, query_id: int) -> Query:
    saved = SavedQuery.get_or_none(company, query_id)
    if saved is None:
        raise NotFound(f"Saved query {query_id} was deleted.")
    return parse(saved.text)


def _unreadable(query: Query, sources: Collection[int]) -> str | None:
    """Why the query cannot be read over `sources` (it names lists that are gone or query-defined)."""
    named = sorted(query.lists - set(sources))
    if not named:
        return None
    listed = ", ".join(map(str, named))
    return f"The saved query names contact lists {listed}: gone, or defined by saved queries themselves."


def _size(list_ids: Iterable[int], company: int) -> int:
    return sum(c.contact_count for c in (ContactList.get_or_none(company, i) for i in list_ids) if c)


def save_contacts_task(task: Task) -> dict[str, Any]:
    with _alone(task.company, task.params["contact_list"]):
        return _save_contacts(task)


def _save_contacts(task: Task) -> dict[str, Any]:
    target = _live_list(task.company, task.params["contact_list"])
    if "start_count" not in task.params:
        task.update(actions=[Task.params.set({**task.params, "start_count": target.contact_count})])
    params = task.params
    if "saved_query" in params:
        query, sources = _query_of(task.company, params["saved_query"]), source_lists(task.company)
        problem = _unreadable(query, sources)
        if problem:
            raise Conflict(problem, code="unreadable_lists")
        wanted: Iterable[Person] = matching(task.company, query, sources)
        total = sum(sources.values())
    elif "contact_lists" in params:
        wanted, total = _from_lists(params["contact_lists"]), _size(params["contact_lists"], task.company)
    else:
        deployment = Deployment.get(task.company, params["deployment"])
        wanted, total = _from_recipients(deployment, params["status"]), deployment.total_contacts or 0
    return add_members(target, wanted, task, total + target.contact_count)


def refresh_task(task: Task) -> dict[str, Any]:
    """Refresh each list in turn; a list deleted or no longer defined by a query since is skipped."""
    results = {}
    for list_id in task.params["contact_lists"]:
        contact_list = ContactList.get_or_none(task.company, list_id, consistent_read=True)
        if contact_list is None or contact_list.saved_query is None:
            results[str(list_id)] = {"skipped": "deleted" if contact_list is None else "no saved query"}
            continue
        query, sources = _query_of(task.company, contact_list.saved_query), source_lists(task.company)
        problem = _unreadable(query, sources)
        if problem:
            results[str(list_id)] = {"error": problem}
            continue
        total = sum(sources.values()) + contact_list.contact_count
        with _alone(task.company, list_id):
            wanted = matching(task.company, query, sources)
            results[str(list_id)] = make_members(contact_list, wanted, task, total)
    return {"contact_lists": results}


def refresh_every_saved_list() -> int:
    """The nightly refresh: one task per company that has lists defined by saved queries."""
    companies = sorted({c.company for c in ContactList.by_saved_query.query(contact_lists.SAVED)})
    for company in companies:
        lists = saved_queries.lists_defined_by(company)
        if lists:
            tasks.start(
                Caller(company=company, user=None, role="admin"), "refresh_lists", {"contact_lists": lists}
            )
    return len(companies)
