"""What an import writes each accepted row to: contacts into a list, or opt-outs into the suppression set.

The importer (reading, deduplicating, resuming, error rows) is the same for both; a target says how
to look up what is already stored for a batch of numbers and how to write new rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock
from chalicelib.domain.contacts import optouts
from chalicelib.domain.contacts.optouts import MAX_REASON
from chalicelib.domain.imports.csvfiles import ContactRow, Layout
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.rules.destinations import number_in
from chalicelib.domain.rules.lifecycle import DRAFT, NAMES, Delivery
from chalicelib.models import batch, dynamodb
from chalicelib.models.contacts import Contact, ContactList, contact_item, contact_key, stored_datetime
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Deployment, Recipient, recipient_key
from chalicelib.models.imports import Import
from chalicelib.models.optouts import (
    OptOut,
    activation,
    history_key,
    optout_key,
    scope_attribute,
)

ID_BLOCK = 10_000
MAX_MESSAGE = 1600
MAX_NAME, MAX_FIELD_VALUE, MAX_FIELDS = 100, 1000, 100
_OPTOUTS_PER_TRANSACTION = 50


@dataclass(frozen=True)
class Stored:
    """What is already stored for a number: which import and row wrote it (None: not an import's),
    whether that write created it, and the stored object itself."""

    import_id: int | None
    import_row: int | None
    created: bool
    existing: Any


class TargetGone(Exception):
    """What an import writes to can take no more rows (a deployment deleted, submitted or cancelled)."""


class Target(Protocol):
    checks_every_row: bool
    takes_addresses: bool  # whether a row with an address and no number is keyed by its address

    def problem(self, row: ContactRow) -> str: ...

    def stored(self, msisdns: list[str]) -> dict[str, Stored]: ...

    def item(self, msisdn: str, row: ContactRow, stored: Stored | None) -> Any: ...

    def submit(self, items: list[Any]) -> None: ...

    def wait(self) -> int: ...

    def layout_problem(self, layout: Layout) -> str: ...

    def finish(self, write: TransactWrite, created: int) -> None: ...

    def completed(self) -> None: ...

    def close(self) -> None: ...


def values_problem(row: ContactRow) -> str:
    """Why a row's names or other columns cannot be stored ("" when they can; the address is checked
    by the importer)."""
    for name, value, limit in (
        ("first name", row.first_name, MAX_NAME),
        ("last name", row.last_name, MAX_NAME),
    ):
        if value is not None and len(value) > limit:
            return f"{name} longer than {limit} characters"
    if len(row.fields) > MAX_FIELDS:
        return f"more than {MAX_FIELDS} other columns"
    for name, value in row.fields.items():
        if len(value) > MAX_FIELD_VALUE:
            return f"{name} longer than {MAX_FIELD_VALUE} characters"
    return ""


class _Ids:
    """Ids handed out in blocks: one counter write per 10,000 new objects."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._free: list[int] = []

    def next(self) -> int:
        if not self._free:
            self._free = list(reversed(allocate_ids(self.kind, ID_BLOCK)))
        return self._free.pop()


class _ConcurrentWrites:
    """Targets whose items are plain puts, written on a few threads while reading goes on."""

    writer: batch.ConcurrentWriter

    def submit(self, items: list[dict[str, Any]]) -> None:
        self.writer.submit(items)

    def wait(self) -> int:
        self.writer.wait()
        return 0

    def close(self) -> None:
        self.writer.close()


class ContactsTarget(_ConcurrentWrites):
    """Contacts of one list; a new list needs no reads (`checks_every_row` only when merging)."""

    def __init__(self, job: Import) -> None:
        self.job = job
        self.checks_every_row = bool(job.merge)
        self.takes_addresses = True
        self.table = Contact.Meta.table_name
        self.now = stored_datetime(clock.now())
        self.ids = _Ids("contact")
        self.writer = batch.ConcurrentWriter(self.table)

    def problem(self, row: ContactRow) -> str:
        return values_problem(row)

    def stored(self, msisdns: list[str]) -> dict[str, Stored]:
        keys = [contact_key(self.job.contact_list, m) for m in msisdns]
        found = {}
        for item in batch.get_items(self.table, keys):
            contact = Contact.from_raw_data(item)
            found[contact.msisdn] = Stored(
                contact.import_id, contact.import_row, bool(contact.import_created), contact
            )
        return found

    def item(self, msisdn: str, row: ContactRow, stored: Stored | None) -> dict[str, Any]:
        """New values over the stored ones; an empty cell never erases what is there."""
        old: Contact | None = stored.existing if stored else None
        if old is None:
            contact_id, created = self.ids.next(), self.now
            first, last, email, fields = row.first_name, row.last_name, row.email, row.fields
        else:
            contact_id, created = old.id, stored_datetime(old.date_created)
            first, last, email = (
                row.first_name or old.first_name,
                row.last_name or old.last_name,
                row.email or old.email,
            )
            fields = {**old.fields.as_dict(), **row.fields}
        return contact_item(
            contact_list=self.job.contact_list,
            msisdn=msisdn,
            contact_id=contact_id,
            company=self.job.company,
            first_name=first,
            last_name=last,
            email=email,
            fields=fields,
            created=created,
            updated=self.now,
            import_id=self.job.id,
            import_row=row.number,
            import_created=old is None,
        )

    def finish(self, write: TransactWrite, created: int) -> None:
        if created:
            write.update(
                ContactList(company=self.job.company, id=self.job.contact_list),
                actions=[ContactList.contact_count.add(created), ContactList.date_updated.set(clock.now())],
                condition=ContactList.id.exists(),
            )

    def layout_problem(self, layout: Layout) -> str:
        return ""

    def completed(self) -> None:
        return None


class OptOutsTarget:
    """Opt-outs of one scope (the job's sender, or every sender); a number already out counts as updated."""

    checks_every_row = True

    def __init__(self, job: Import) -> None:
        self.job = job
        options = job.options or {}
        self.sender = options.get("sender")
        self.takes_addresses = self.sender is None  # an email opt-out covers every sender
        self.reason = options.get("reason")
        self.scope = scope_attribute(self.sender)
        self.ids = _Ids("optout")
        self.already = 0

    def problem(self, row: ContactRow) -> str:
        reason = row.fields.get("reason")
        return f"reason longer than {MAX_REASON} characters" if reason and len(reason) > MAX_REASON else ""

    def stored(self, msisdns: list[str]) -> dict[str, Stored]:
        active = optouts.held_ids(self.job.company, msisdns, self.scope)  # an erased person's too
        number_of = {optout_id: number for number, optout_id in active.items()}
        records = batch.get_items(
            OptOut.Meta.table_name, [optout_key(self.job.company, i) for i in active.values()]
        )
        found = {}
        for raw in records:
            optout = OptOut.from_raw_data(raw)
            found[number_of[optout.id]] = Stored(optout.import_id, optout.import_row, True, optout)
        return found

    def item(self, msisdn: str, row: ContactRow, stored: Stored | None) -> OptOut | None:
        """A new opt-out; a number already out for this scope needs no write (None)."""
        if stored is not None:
            return None
        return OptOut(
            company=self.job.company,
            id=self.ids.next(),
            originator=msisdn,
            channel=None if number_in(msisdn) else EMAIL,
            sender=self.sender,
            reason=row.fields.get("reason") or self.reason,
            source="import",
            created_by=self.job.user or None,
            date_opted_out=clock.now(),
            import_id=self.job.id,
            import_row=row.number,
            history_key=history_key(self.job.company, msisdn),
        )

    def submit(self, items: list[OptOut | None]) -> None:
        pending = [item for item in items if item is not None]
        for start in range(0, len(pending), _OPTOUTS_PER_TRANSACTION):
            self._activate(pending[start : start + _OPTOUTS_PER_TRANSACTION])

    def _activate(self, optouts: list[OptOut]) -> None:
        """Many in one transaction; any that someone made meanwhile are dropped and the rest retried."""
        while optouts:
            actions = [action for optout in optouts for action in activation(optout)]
            try:
                dynamodb.transact(actions)
                return
            except dynamodb.TransactionCancelled as cancelled:
                failed = {i // 2 for i in cancelled.failed}
                if not failed:
                    raise
                self.already += len(failed)
                optouts = [o for i, o in enumerate(optouts) if i not in failed]

    def wait(self) -> int:
        already, self.already = self.already, 0
        return already

    def layout_problem(self, layout: Layout) -> str:
        return ""

    def finish(self, write: TransactWrite, created: int) -> None:
        return None

    def completed(self) -> None:
        return None

    def close(self) -> None:
        return None


class RecipientsTarget(_ConcurrentWrites):
    """A deployment's own recipients, each with the text from a `message` column or the draft's template."""

    checks_every_row = False
    takes_addresses = False  # an imported deployment sends SMS

    def __init__(self, job: Import) -> None:
        self.job = job
        deployment = Deployment.get_or_none(job.company, job.deployment, consistent_read=True)
        if deployment is None:
            raise TargetGone("The deployment was deleted before its import began.")
        self.deployment = deployment
        self.table = Recipient.Meta.table_name
        self.writer = batch.ConcurrentWriter(self.table)

    def submit(self, items: list[dict[str, Any]]) -> None:
        """Write rows only into a draft: an approval quotes what is there, so nothing may come after."""
        current = Deployment.get_or_none(
            self.job.company, self.deployment.id, consistent_read=True, attributes_to_get=["status"]
        )
        if current is None or current.status != DRAFT:
            state = "deleted" if current is None else f"{NAMES[current.status]}, no longer a draft"
            raise TargetGone(f"The deployment is {state}: no more recipients can be added to it.")
        super().submit(items)

    def layout_problem(self, layout: Layout) -> str:
        if layout.phone_column is None:
            return "The file has no phone number column (a deployment imported from a file sends SMS)."
        if self.deployment.message.strip() or "message" in layout.field_names.values():
            return ""
        return "The file has no message column and the form gave no message template."

    def problem(self, row: ContactRow) -> str:
        text = row.fields.get("message") or ""
        if len(text) > MAX_MESSAGE:
            return f"message longer than {MAX_MESSAGE} characters"
        if not text.strip() and not self.deployment.message.strip():
            return "no message on this row"
        return values_problem(row)

    def stored(self, msisdns: list[str]) -> dict[str, Stored]:
        keys = [recipient_key(self.deployment.id, m) for m in msisdns]
        found = {}
        for item in batch.get_items(self.table, keys):
            recipient = Recipient.from_raw_data(item)
            found[recipient.msisdn] = Stored(recipient.import_id, recipient.import_row, True, recipient)
        return found

    def item(self, msisdn: str, row: ContactRow, stored: Stored | None) -> dict[str, Any]:
        fields = {name: value for name, value in row.fields.items() if name != "message"}
        return Recipient(
            deployment=self.deployment.id,
            msisdn=msisdn,
            company=self.job.company,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            fields=fields,
            message=row.fields.get("message") or None,
            status=Delivery.QUEUED,
            import_id=self.job.id,
            import_row=row.number,
        ).serialize()

    def finish(self, write: TransactWrite, created: int) -> None:
        write.update(
            self.deployment,
            actions=[Deployment.total_contacts.set(created), Deployment.date_updated.set(clock.now())],
            condition=Deployment.id.exists(),
        )

    def completed(self) -> None:
        """The draft's quote is made in the background: it reads every recipient once more."""
        from chalicelib.domain.accounts.auth import Caller
        from chalicelib.domain.background import tasks

        tasks.start(
            Caller(company=self.job.company, user=self.job.user or None, role="member"),
            "quote_deployment",
            {"deployment": self.deployment.id},
        )


TARGETS = {"contacts": ContactsTarget, "optouts": OptOutsTarget, "deployment": RecipientsTarget}
