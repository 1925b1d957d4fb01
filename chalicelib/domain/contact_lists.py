"""Contact lists: a company's audiences; deleting a big one hands its contacts to a background task."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import clock, tasks
from chalicelib.domain.auth import Caller
from chalicelib.domain.errors import NotFound, invalid_field
from chalicelib.models import batch
from chalicelib.models.contacts import Contact, ContactList
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


def create_list(caller: Caller, title: str) -> ContactList:
    now = clock.now()
    created = ContactList(
        company=caller.company,
        id=allocate_ids("contact_list")[0],
        title=check_title(title),
        contact_count=0,
        date_created=now,
        date_updated=now,
    )
    created.save(condition=ContactList.id.does_not_exist())
    return created


def update_list(caller: Caller, list_id: int, changes: dict[str, Any]) -> ContactList:
    found = get_list(caller, list_id)
    if "title" in changes:
        found.update(
            actions=[
                ContactList.title.set(check_title(changes["title"])),
                ContactList.date_updated.set(clock.now()),
            ],
            condition=ContactList.id.exists(),
        )
    return found


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
            {"contact_list": {"N": str(list_id)}, "msisdn": {"S": c.msisdn}}
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


@tasks.kind("delete_contacts")
def _delete_contacts_task(task: Task) -> dict[str, Any]:
    return {"deleted": sum(delete_contacts_of(list_id) for list_id in task.params["contact_lists"])}
