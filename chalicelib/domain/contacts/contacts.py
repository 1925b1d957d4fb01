"""Contacts through the API: one at a time or up to 1,000 at once, each created, updated or rejected."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.contacts import contact_lists
from chalicelib.domain.errors import ColonyError, Conflict, InvalidInput, NotFound, invalid_field
from chalicelib.domain.imports.csvfiles import field_name
from chalicelib.domain.rules.addresses import InvalidAddress, normalise_address
from chalicelib.domain.rules.destinations import number_in, person_key
from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise
from chalicelib.models import batch, dynamodb
from chalicelib.models.base import (
    CONFLICT_RETRIES,
    StillConflicting,
    back_off,
    condition_failed,
    failed_conditions,
    transact_write,
    transaction,
)
from chalicelib.models.contacts import (
    Contact,
    ContactList,
    contact_item,
    contact_key,
    count_action,
    delete_action,
    name_contains,
    put_action,
    stored_datetime,
)
from chalicelib.models.counters import allocate_ids
from chalicelib.models.pagination import Page, PageRequest, paginate, paginate_filtered

MAX_BATCH = 1000
MAX_NAME, MAX_FIELD_VALUE, MAX_FIELDS = 100, 1000, 100
TRANSACTION_CONTACTS, TRANSACTION_BYTES = 99, 3_000_000


@dataclass
class ContactInput:
    """A contact as a client sent it, checked and normalised; `msisdn` becomes its key (its number, or
    its address's key when it has none: `rules/destinations.person_key`) once that is known."""

    msisdn: str
    values: dict[str, Any]
    fields: dict[str, str | None] = field(default_factory=dict)


Numbered = tuple[int, "ContactInput", int]


@dataclass
class ItemResult:
    index: int
    status: str
    contact: Contact | None = None
    error: ColonyError | None = None


def check_contact(
    data: dict[str, Any], region: str, *, partial: bool = False, simulated: bool = False
) -> ContactInput:
    """Validate one contact's writable fields (types are checked by the API schema); `simulated` (a test
    tenant's) takes the simulator's numbers too."""
    problems: dict[str, list[str]] = {}
    msisdn = ""
    raw = data.get("msisdn")
    if ("msisdn" in data or not partial) and (raw or "").strip():
        try:
            msisdn = normalise(raw, region, simulated=simulated)
        except InvalidPhoneNumber as error:
            problems["msisdn"] = [error.reason]
    values = {}
    for name, limit in (("first_name", MAX_NAME), ("last_name", MAX_NAME)):
        if name in data:
            value = (data[name] or "").strip() or None
            if value is not None and len(value) > limit:
                problems[name] = [f"must be at most {limit} characters"]
            values[name] = value
    if "email" in data:
        values["email"] = None
        if (data["email"] or "").strip():
            try:
                values["email"] = normalise_address(data["email"], simulated=simulated)
            except InvalidAddress as error:
                problems["email"] = [error.reason]
    fields = _check_fields(data.get("fields") or {}, problems)
    if not partial and not msisdn and not values.get("email") and "msisdn" not in problems:
        problems["msisdn"] = ["is required (or an email, for a contact reached by email alone)"]
    if problems:
        raise InvalidInput("; ".join(f"{k} {v[0]}" for k, v in problems.items()), fields=problems)
    return ContactInput(msisdn=msisdn, values=values, fields=fields)


def _check_fields(raw: dict[str, Any], problems: dict[str, list[str]]) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    for name, value in raw.items():
        key = field_name(name)
        if not key or len(key) > 64:
            problems[f"fields.{name}"] = ["must be a name of letters, digits and underscores (64 at most)"]
        elif value is None:
            fields[key] = None
        elif isinstance(value, (str, int, float, bool)) and len(str(value)) <= MAX_FIELD_VALUE:
            fields[key] = str(value).strip()
        else:
            problems[f"fields.{name}"] = [f"must be text of at most {MAX_FIELD_VALUE} characters"]
    if len(fields) > MAX_FIELDS:
        problems["fields"] = [f"must hold at most {MAX_FIELDS} fields"]
    return fields


def list_contacts(
    caller: Caller, list_id: int, page: PageRequest, msisdn: str | None = None, name: str | None = None
) -> Page:
    """A page of a list's contacts; `msisdn` finds one by number, `name` those whose name contains it."""
    contact_list = contact_lists.get_list(caller, list_id)
    if msisdn is not None and name is not None:
        raise invalid_field("name", "search by number or by name, not both")
    if name is not None:
        if not name.strip() or len(name) > 100:
            raise invalid_field("name", "must be 1 to 100 characters")
        return paginate_filtered(Contact, contact_list.id, page, name_contains(name.strip()))
    if msisdn is None:
        return paginate(Contact, contact_list.id, page)
    try:
        number = normalise(msisdn, get_company(caller).default_region, simulated=caller.test)
    except InvalidPhoneNumber as error:
        raise invalid_field("msisdn", error.reason) from None
    found = Contact.get_or_none(contact_list.id, number)
    return Page(items=[found] if found else [], next=None)


def get_contact(caller: Caller, list_id: int, contact_id: int) -> Contact:
    contact_list = contact_lists.get_list(caller, list_id)
    keys = list(Contact.by_id.query(contact_list.id, Contact.id == contact_id, limit=1))
    found = Contact.get_or_none(contact_list.id, keys[0].msisdn, consistent_read=True) if keys else None
    if found is None:
        raise NotFound(f"There is no contact {contact_id} in list {list_id}.")
    return found


def save_contacts(
    caller: Caller, list_id: int, items: list[dict[str, Any] | ColonyError]
) -> list[ItemResult]:
    """Create or update each item by its number; a bad item is rejected with its reason, the rest kept.

    An item that already failed the request's own checks arrives as its error.
    """
    contact_list = contact_lists.get_writable_list(caller, list_id)
    region = get_company(caller).default_region
    results, accepted = [], {}
    for index, data in enumerate(items):
        if isinstance(data, ColonyError):
            results.append(ItemResult(index, "rejected", error=data))
            continue
        try:
            checked = check_contact(data, region, simulated=caller.test)
        except InvalidInput as error:
            results.append(ItemResult(index, "rejected", error=error))
            continue
        checked.msisdn = person_key(checked.msisdn, checked.values.get("email"))
        if checked.msisdn in accepted:
            first = accepted[checked.msisdn][0]
            name = "msisdn" if number_in(checked.msisdn) else "email"
            duplicate = InvalidInput(
                f"{name} is the same as item {first}'s",
                code="duplicate",
                fields={name: [f"duplicate of item {first}"]},
            )
            results.append(ItemResult(index, "rejected", error=duplicate))
            continue
        accepted[checked.msisdn] = (index, checked)
    results += _write(caller, contact_list, list(accepted.values()))
    return sorted(results, key=lambda r: r.index)


def _write(
    caller: Caller, contact_list: ContactList, accepted: list[tuple[int, ContactInput]]
) -> list[ItemResult]:
    """Write the contacts in transactions that each carry the list's count change with the contacts."""
    ids = iter(allocate_ids("contact", len(accepted)) if accepted else ())
    numbered = [(index, checked, next(ids)) for index, checked in accepted]
    results: list[ItemResult] = []
    for group in _groups(numbered):
        results += _write_group(caller, contact_list, group)
    return results


def _groups(numbered: list[Numbered]) -> list[list[Numbered]]:
    """Transactions' worth of contacts: 99 at most (the 100th item is the count), under 3 MB in all."""
    groups: list[list[Numbered]] = [[]]
    size = 0
    for entry in numbered:
        weight = len(json.dumps(entry[1].values)) + len(json.dumps(entry[1].fields)) + 200
        if len(groups[-1]) == TRANSACTION_CONTACTS or size + weight > TRANSACTION_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += weight
    return [group for group in groups if group]


def _write_group(caller: Caller, contact_list: ContactList, group: list[Numbered]) -> list[ItemResult]:
    """One transaction of contacts and their count; when another write created or deleted one of them
    meanwhile, its condition fails and the group is read and written again."""
    table = Contact.Meta.table_name
    for attempt in range(CONFLICT_RETRIES):
        keys = [contact_key(contact_list.id, checked.msisdn) for _, checked, _ in group]
        existing = {c.msisdn: c for c in map(Contact.from_raw_data, batch.get_items(table, keys))}
        now = stored_datetime(clock.now())
        actions, results = [], []
        for index, checked, new_id in group:
            old = existing.get(checked.msisdn)
            item = _item(caller, contact_list, checked, old, new_id, now)
            actions.append(put_action(item, new=old is None))
            results.append(ItemResult(index, "updated" if old else "created", Contact.from_raw_data(item)))
        created = sum(r.status == "created" for r in results)
        if created:
            actions.append(count_action(caller.company, contact_list.id, created, now))
        try:
            transact_write(actions)
            return results
        except dynamodb.TransactionCancelled as error:
            if len(group) in error.failed:
                raise NotFound(f"There is no contact list {contact_list.id}.") from error
            if not error.failed:
                raise
            back_off(attempt)
        except StillConflicting:
            break
    raise Conflict(
        "Other writes kept changing these contacts at the same moment; send them again.",
        code="concurrent_change",
    )


def _item(
    caller: Caller,
    contact_list: ContactList,
    checked: ContactInput,
    old: Contact | None,
    new_id: int,
    now: str,
    created: str | None = None,
) -> dict[str, Any]:
    """The stored form of a contact: new values over the old ones; a field set to null is removed.
    It was created `created` (default: when `old` was, or `now`)."""
    merged_fields = {**(old.fields.as_dict() if old else {}), **checked.fields}
    return contact_item(
        contact_list=contact_list.id,
        msisdn=checked.msisdn,
        contact_id=old.id if old else new_id,
        company=caller.company,
        first_name=checked.values.get("first_name", old.first_name if old else None),
        last_name=checked.values.get("last_name", old.last_name if old else None),
        email=checked.values.get("email", old.email if old else None),
        fields={k: v for k, v in merged_fields.items() if v is not None},
        created=created or (stored_datetime(old.date_created) if old else now),
        updated=now,
    )


def update_contact(
    caller: Caller, list_id: int, contact_id: int, data: dict[str, Any], *, replace: bool
) -> Contact:
    """PATCH merges into the contact; PUT replaces every writable field. A new number must be free."""
    current = get_contact(caller, list_id, contact_id)
    region = get_company(caller).default_region
    if replace:
        data = {"first_name": None, "last_name": None, "email": None, **data}
    checked = check_contact(data, region, partial=not replace, simulated=caller.test)
    number = checked.msisdn if replace or "msisdn" in data else number_in(current.msisdn)
    email = checked.values.get("email", current.email)
    if not number and not email:
        if "email" in checked.values:
            raise invalid_field("email", "is required while the contact has no number")
        raise invalid_field("msisdn", "is required while the contact has no email")
    checked.msisdn = person_key(number, email)
    contact_list = contact_lists.get_writable_list(caller, list_id)
    base = None if replace else current
    created = stored_datetime(current.date_created)
    item = _item(caller, contact_list, checked, base, current.id, stored_datetime(clock.now()), created)
    updated = Contact.from_raw_data(item)
    gone = NotFound(f"There is no contact {contact_id} in list {list_id}.")
    if checked.msisdn == current.msisdn:
        try:
            updated.save(condition=Contact.msisdn.exists())
        except PutError as error:
            if condition_failed(error):
                raise gone from error
            raise
        return updated
    try:
        with transaction() as write:
            write.save(updated, condition=Contact.msisdn.does_not_exist())
            write.delete(current, condition=Contact.msisdn.exists())
    except TransactWriteError as error:
        # PynamoDB sends a transaction's deletes before its puts.
        deleted, taken = [*failed_conditions(error), False, False][:2]
        if deleted:
            raise gone from error
        if taken:
            raise Conflict(
                f"The list already has a contact keyed {checked.msisdn} (its number, or its address).",
                code="duplicate_number",
            ) from error
        raise
    return updated


def delete_contact(caller: Caller, list_id: int, contact_id: int) -> None:
    contact_list = contact_lists.get_writable_list(caller, list_id)
    current = get_contact(caller, list_id, contact_id)
    now = stored_datetime(clock.now())
    try:
        transact_write(
            [
                delete_action(contact_list.id, current.msisdn),
                count_action(caller.company, contact_list.id, -1, now),
            ]
        )
    except dynamodb.TransactionCancelled as error:
        if not error.failed:
            raise
        raise NotFound(f"There is no contact {contact_id} in list {list_id}.") from error
