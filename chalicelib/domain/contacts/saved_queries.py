"""Saved queries: named filters over a company's contacts, which contact lists can be defined by."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.contacts import contact_lists
from chalicelib.domain.errors import Conflict, NotFound, invalid_field
from chalicelib.domain.rules.query_language import Query, parse
from chalicelib.models.contacts import ContactList
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.saved_queries import SavedQuery

MAX_TITLE = 200


def checked_query(caller: Caller, text: Any, field: str = "query") -> Query:
    """`text` parsed, with every list it names one of the caller's that people fill (a 400 naming `field`
    otherwise): lists defined by queries never feed each other, nor themselves."""
    query = parse(text, field)
    for list_id in sorted(query.lists):
        found = ContactList.get_or_none(caller.company, list_id)
        if found is None:
            raise invalid_field(field, f"there is no contact list {list_id}")
        if found.saved_query is not None:
            raise invalid_field(
                field, f"contact list {list_id} is defined by a saved query; a query reads lists people fill"
            )
    return query


def create(caller: Caller, data: dict[str, Any]) -> SavedQuery:
    now = clock.now()
    saved = SavedQuery(
        company=caller.company,
        id=allocate_ids("saved_query")[0],
        title=contact_lists.check_title(data.get("title")),
        text=checked_query(caller, data.get("query")).text,
        created_by=caller.user,
        date_created=now,
        date_updated=now,
    )
    saved.save(condition=SavedQuery.id.does_not_exist())
    return saved


def get(caller: Caller, query_id: int) -> SavedQuery:
    found = SavedQuery.get_or_none(caller.company, query_id)
    if found is None:
        raise NotFound(f"There is no saved query {query_id}.")
    return found


def list_saved(caller: Caller, page: PageRequest) -> Page:
    return paginate(SavedQuery, caller.company, page)


def update(caller: Caller, query_id: int, changes: dict[str, Any]) -> SavedQuery:
    found = get(caller, query_id)
    actions = [SavedQuery.date_updated.set(clock.now())]
    if "title" in changes:
        actions.append(SavedQuery.title.set(contact_lists.check_title(changes["title"])))
    if "query" in changes:
        actions.append(SavedQuery.text.set(checked_query(caller, changes["query"]).text))
    found.update(actions=actions, condition=SavedQuery.id.exists())
    return found


def delete(caller: Caller, query_id: int) -> None:
    """Only a query no list is defined by (409 naming the lists otherwise)."""
    found = get(caller, query_id)
    users = lists_defined_by(caller.company, query_id)
    if users:
        raise Conflict(
            f"Contact lists {', '.join(map(str, users))} are defined by this query; change them first.",
            code="in_use",
        )
    found.delete()


def lists_defined_by(company: int, query_id: int | None = None) -> list[int]:
    """The company's lists defined by `query_id` (or by any saved query)."""
    condition = ContactList.saved_query.exists() if query_id is None else ContactList.saved_query == query_id
    return [c.id for c in ContactList.query(company, filter_condition=condition)]
