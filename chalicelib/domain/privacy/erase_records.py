"""Erasing a person from a company's tables: gone from every list (the lists' counts moved with it), their
number or address replaced by their token everywhere else, in keys and indexed attributes too, so every
count by recipient, status and day stays true and nothing names them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from chalicelib.domain import clock
from chalicelib.domain.privacy.person import Person
from chalicelib.models import dynamodb
from chalicelib.models.audit import AuditEntry
from chalicelib.models.base import condition_failed, transact_write
from chalicelib.models.callbacks import CallbackAttempt
from chalicelib.models.companies import Company
from chalicelib.models.contacts import Contact, ContactList, count_action, delete_action, stored_datetime
from chalicelib.models.deployments import Bulk, Campaign, Deployment, Message, Recipient
from chalicelib.models.erasures import partition, redacted, replacing
from chalicelib.models.expressions import plain
from chalicelib.models.idempotency import IdempotencyKey
from chalicelib.models.imports import Import
from chalicelib.models.inbound import Inbound
from chalicelib.models.optouts import OptOut, suppression_key, suppressions_table
from chalicelib.models.saved_queries import SavedQuery
from chalicelib.models.tasks import Task

REWRITE_ATTEMPTS = 5
PERSONAL = ("first_name", "last_name", "fields")  # what a recipient kept of the person, beyond the key
# the tables whose items a company owns by partition, and the count each rewrite adds to; contacts,
# recipients and suppressions are erased on their own below. Left out, as they name no subscriber: the
# company's own item, its users, keys, sessions and password links, counters and uniques (ids, leases,
# gateway ids; a keyword reply counter is already keyed by the token), stats (counts only); and files,
# whose entries Colony names and which `erase_files` deletes with their objects when they name the person.
BY_COMPANY: tuple[tuple[type[Model], str], ...] = (
    (Message, "messages_rewritten"),
    (Inbound, "inbound_rewritten"),
    (CallbackAttempt, "callbacks_rewritten"),
    (OptOut, "optouts_rewritten"),
    (ContactList, "other_rewritten"),
    (Deployment, "other_rewritten"),
    (Bulk, "other_rewritten"),
    (Campaign, "other_rewritten"),
    (Import, "other_rewritten"),
    (Task, "other_rewritten"),
    (SavedQuery, "other_rewritten"),
    (IdempotencyKey, "other_rewritten"),
    (AuditEntry, "other_rewritten"),
)


class StillChanging(Exception):
    """An item changed under every attempt to rewrite it: the task's delivery is tried again later."""


def key_names(model: type[Model]) -> tuple[str, ...]:
    return tuple(name for name in (model._hash_keyname, model._range_keyname) if name)


def erase_records(person: Person, counts: Counter[str]) -> bool:
    """Erase `person` from every table of their company, adding what changed to `counts`; returns
    whether a suppression was kept under their token (they had opted out)."""
    kept = keep_suppression(person)
    remove_contacts(person, counts)
    rewrite_recipients(person, counts)
    for model, count in BY_COMPANY:
        counts[count] += rewrite_partition(model, model._hash_keyname, person.company, person)
    return kept


def keep_suppression(person: Person) -> bool:
    """Their suppression item moves to their token when an opt-out is active in it (so no send can ever
    reach them again), and goes when none is; written before anything else, so it is never absent."""
    table = suppressions_table()
    old = dynamodb.get(table, suppression_key(person.company, person.key))
    if old is None:  # never opted out, or moved by an earlier run of this erasure (perhaps of a release
        # that kept no mark): a kept one is marked, so sends ask for the token
        kept = dynamodb.get(table, suppression_key(person.company, person.token)) is not None
        company = Company.get_or_none(person.company, consistent_read=True) if kept else None
        if company is not None and not company.erased_optouts:
            mark_erased_optout(person.company)
        return kept
    if not any(name not in ("key", "company", "msisdn") for name in plain(old)):
        dynamodb.delete(table, suppression_key(person.company, person.key))
        return False
    new = redacted(old, person.redact)
    if new is not None:
        # Before the move: a send that read no token from here on sees the mark in its claims.
        mark_erased_optout(person.company)
        earlier = dynamodb.get(table, suppression_key(person.company, person.token))  # erased before
        transact_write(replacing(table, ("key",), old, {**(earlier or {}), **new}))
    return True


def mark_erased_optout(company: int) -> None:
    """Count an opt-out kept under a token in the company (a test tenant not yet opened has no item)."""
    try:
        Company(id=company).update(actions=[Company.erased_optouts.add(1)], condition=Company.id.exists())
    except UpdateError as error:
        if not condition_failed(error):
            raise


def _is_person(person: Person, values: dict[str, Any]) -> bool:
    """Whether a contact or recipient is the person: by its key, its number or its address."""
    return any(
        isinstance(values.get(name), str) and person.named_in(values[name])
        for name in ("msisdn", "number", "email")
    )


def remove_contacts(person: Person, counts: Counter[str]) -> None:
    """Delete the person's contact from every list (the list's count with it); another contact that
    merely mentions them (in a field) is redacted instead."""
    for contact_list in ContactList.query(person.company):
        removed = 0
        for item in partition(Contact.Meta.table_name, "contact_list", contact_list.id):
            values = plain(item)
            if _is_person(person, values):
                removed += _delete_contact(person.company, contact_list.id, values["msisdn"])
            else:
                counts["other_rewritten"] += _rewrite(Contact, item, person)
        if removed:
            counts["contacts_removed"] += removed
            counts["lists_touched"] += 1


def _delete_contact(company: int, list_id: int, msisdn: str) -> int:
    now = stored_datetime(clock.now())
    try:
        transact_write([delete_action(list_id, msisdn), count_action(company, list_id, -1, now)])
    except dynamodb.TransactionCancelled as error:
        if not error.failed:
            raise
        return 0  # gone meanwhile (or by an earlier run of this erasure)
    return 1


def rewrite_recipients(person: Person, counts: Counter[str]) -> None:
    """Every deployment's row for the person keyed by their token, without what personalised it."""
    for deployment in Deployment.query(person.company, attributes_to_get=["company", "id"]):
        for item in partition(Recipient.Meta.table_name, "deployment", deployment.id):
            drop = PERSONAL if _is_person(person, plain(item)) else ()
            counts["recipients_rewritten"] += _rewrite(Recipient, item, person, drop)


def rewrite_partition(model: type[Model], name: str, value: int, person: Person) -> int:
    return sum(_rewrite(model, item, person) for item in partition(model.Meta.table_name, name, value))


def _rewrite(model: type[Model], item: dict[str, Any], person: Person, drop: tuple[str, ...] = ()) -> int:
    """Write the item back redacted (under its new key if its key named the person); 1 if it changed.
    An item that changed meanwhile (a receipt, a status) is read again and redacted as it is now."""
    table, names = model.Meta.table_name, key_names(model)
    for _ in range(REWRITE_ATTEMPTS):
        new = redacted(item, person.redact, drop)
        if new is None:
            return 0
        try:
            transact_write(replacing(table, names, item, new))
            return 1
        except dynamodb.TransactionCancelled as error:
            if not error.failed:
                raise
        found = dynamodb.get(table, {name: item[name] for name in names})
        if found is None:
            return 0
        item = found
    raise StillChanging(f"{table}: an item kept changing under the erasure")
