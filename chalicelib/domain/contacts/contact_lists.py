"""Contact lists: a company's audiences; deleting a big one hands its contacts to a background task."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.background import tasks
from chalicelib.domain.errors import Conflict, NotFound, invalid_field
from chalicelib.models import batch
from chalicelib.models.contacts import SAVED, Contact, ContactList, contact_key
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.tasks import Task

INLINE_DELETE_LIMIT = 1000
MAX_TITLE = 200


def check_title(value: Any) -> str:
    title = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(title) <= MAX_TITLE:
        raise invalid_field("title", f"must be 1 to {MAX_TITLE} characters")
    return title


def list_lists(caller: Caller, page: PageRequest) -> Page:
    return paginate(ContactList, caller.company, page)


def get_list(caller: Caller, list_id: int) -> ContactList:
    found = ContactList.get_or_none(caller.company, list_id)
    if found is None:
        raise NotFound(f"There is no contact list {list_id}.")
    return found


def get_writable_list(caller: Caller, list_id: int) -> ContactList:
    """A list whose contacts people write themselves: a list defined by a saved query is a 409."""
    found = get_list(caller, list_id)
    if found.saved_query is not None:
        raise Conflict(
            f"Contact list {list_id} is defined by saved query {found.saved_query}: refresh it instead.",
            code="defined_by_query",
        )
    return found


def check_saved_query(caller: Caller, value: Any, list_id: int | None = None) -> int | None:
    """A reference to one of the caller's saved queries (or None) that may define the list `list_id`:
    one that names the list itself would feed on its own members."""
    from chalicelib.domain.rules.query_language import parse
    from chalicelib.models.saved_queries import SavedQuery

    if value is None:
        return None
    found = SavedQuery.get_or_none(caller.company, value) if 0 < value < 10**18 else None
    if found is None:
        raise invalid_field("saved_query", f"there is no saved query {value}")
    if list_id is not None and list_id in parse(found.text).lists:
        raise invalid_field("saved_query", f"saved query {value} names this list itself")
    return value


def create_list(caller: Caller, title: str, saved_query: int | None = None) -> ContactList:
    """A new list; one defined by a saved query is filled by a refresh started at once."""
    now = clock.now()
    created = ContactList(
        company=caller.company,
        id=allocate_ids("contact_list")[0],
        title=check_title(title),
        saved_query=check_saved_query(caller, saved_query),
        defined_by=SAVED if saved_query is not None else None,
        contact_count=0,
        date_created=now,
        date_updated=now,
    )
    created.save(condition=ContactList.id.does_not_exist())
    if saved_query is not None:
        start_refresh(caller, [created])
    return created


def update_list(caller: Caller, list_id: int, changes: dict[str, Any]) -> ContactList:
    """Title and saved query; a new saved query starts a refresh, none leaves the members as they are."""
    found = get_list(caller, list_id)
    actions = [ContactList.date_updated.set(clock.now())]
    if "title" in changes:
        actions.append(ContactList.title.set(check_title(changes["title"])))
    refresh = False
    if "saved_query" in changes and changes["saved_query"] != found.saved_query:
        saved_query = check_saved_query(caller, changes["saved_query"], list_id)
        if saved_query is None:
            actions += [ContactList.saved_query.remove(), ContactList.defined_by.remove()]
        else:
            actions += [ContactList.saved_query.set(saved_query), ContactList.defined_by.set(SAVED)]
            refresh = True
    found.update(actions=actions, condition=ContactList.id.exists())
    if refresh:
        start_refresh(caller, [found])
    return found


def start_refresh(caller: Caller, lists: list[ContactList]) -> Task:
    """One task that makes each list's members equal its saved query's result."""
    return tasks.start(caller, "refresh_lists", {"contact_lists": [c.id for c in lists]})


def refresh(caller: Caller, list_id: int | None = None) -> Task:
    """Refresh one list (409 if no saved query defines it) or every list of the company that has one."""
    if list_id is not None:
        found = get_list(caller, list_id)
        if found.saved_query is None:
            raise Conflict(f"Contact list {list_id} has no saved query to refresh.", code="no_saved_query")
        return start_refresh(caller, [found])
    lists = list(ContactList.query(caller.company, filter_condition=ContactList.saved_query.exists()))
    if not lists:
        raise Conflict("No contact list of the company is defined by a saved query.", code="no_saved_query")
    return start_refresh(caller, lists)


def delete_lists(caller: Caller, list_ids: list[int]) -> Task | None:
    """Remove lists at once; their contacts go now if few, else in a task (returned) that a redelivery
    cannot harm. Any id the company does not have is a 404 and nothing is deleted."""
    found = [get_list(caller, list_id) for list_id in dict.fromkeys(list_ids)]
    for contact_list in found:
        contact_list.delete()
    if sum(c.contact_count for c in found) <= INLINE_DELETE_LIMIT:
        for contact_list in found:
            delete_contacts_of(contact_list.id)
        return None
    return tasks.start(caller, "delete_contacts", {"contact_lists": [c.id for c in found]})


def delete_contacts_of(list_id: int) -> int:
    """Delete every contact of a list, a page at a time; safe to run again. Returns how many went."""
    deleted = 0
    while True:
        keys = [
            contact_key(list_id, c.msisdn)
            for c in Contact.query(list_id, attributes_to_get=["contact_list", "msisdn"], limit=1000)
        ]
        if not keys:
            return deleted
        batch.delete_keys(Contact.Meta.table_name, keys)
        deleted += len(keys)


def recount(contact_list: ContactList) -> int:
    """Count the list's contacts exactly (a COUNT query, page by page) and store the figure; for the
    rare paths (an import that failed partway) where the running count cannot be trusted."""
    count = Contact.count(contact_list.id)
    contact_list.update(
        actions=[ContactList.contact_count.set(count), ContactList.date_updated.set(clock.now())],
        condition=ContactList.id.exists(),
    )
    return count


def add_to_count(contact_list: ContactList, created: int) -> None:
    if created:
        contact_list.update(
            actions=[ContactList.contact_count.add(created), ContactList.date_updated.set(clock.now())],
            condition=ContactList.id.exists(),
        )


def delete_contacts_task(task: Task) -> dict[str, Any]:
    return {"deleted": sum(delete_contacts_of(list_id) for list_id in task.params["contact_lists"])}
