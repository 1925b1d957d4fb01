"""Numbers that can receive (long codes and short codes) belong to one company each: the operator assigns
them, a company sends only from its own, and an SMS written to one reaches its owner alone. Alphanumeric
sender ids cannot receive, so any company may use any of them.

A number is claimed in `uniques` (a conditional write, so two companies can never both hold it) in the
same transaction that adds it to the company's `sender_numbers`, which is what lists and checks read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.audit.entries import record
from chalicelib.domain.errors import Conflict, NotFound, invalid_field
from chalicelib.domain.rules.lifecycle import APPROVED, PAUSED, SENDING
from chalicelib.domain.rules.modes import is_test, live_account
from chalicelib.domain.rules.senders import is_numeric, normalise_sender
from chalicelib.log import logger
from chalicelib.models.base import failed_conditions, transaction
from chalicelib.models.claims import Claim, sender_number_key
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment

NOT_OURS = "is not one of this company's numbers (the operator assigns numbers that can receive)"


@dataclass(frozen=True)
class Assigned:
    """A number now the company's, and the other companies that named it as `sender_id` and so lost it."""

    company: Company
    number: str
    released: list[int]


def assign(company_id: int, value: str) -> Assigned:
    """Give a number to a company (again is harmless); another company's number is a 409. A company's
    test data sends from the live company's numbers and is never a number's owner."""
    if is_test(company_id):
        raise invalid_field("company", "is a company's test data, which owns no numbers")
    company = _company(company_id)
    number = _number(value, company.default_region)
    try:
        with transaction() as write:
            write.save(
                Claim(key=sender_number_key(number), owner=str(company.id)),
                condition=Claim.key.does_not_exist() | (Claim.owner == str(company.id)),
            )
            write.update(
                company,
                actions=[Company.sender_numbers.add({number}), Company.date_updated.set(clock.now())],
                condition=Company.id.exists(),
            )
            _audited(
                write,
                company,
                {"sender_numbers": (numbers_of(company), sorted({*numbers_of(company), number}))},
            )
    except TransactWriteError as error:
        if any(failed_conditions(error)[:2]):
            raise Conflict(
                f"{number} is assigned to another company.",
                code="number_taken",
                fields={"number": ["is assigned to another company: remove it there first"]},
            ) from None
        raise
    return Assigned(_company(company.id), number, _release_from_others(number, company.id))


def remove(company_id: int, value: str) -> Company:
    """Take a number from its company; if it was the company's `sender_id`, that is cleared too."""
    company = _company(company_id)
    number = _number(value, company.default_region)
    if number not in (company.sender_numbers or set()):
        raise NotFound(f"{number} is not a number of company {company.id}.")
    live = Deployment.status.is_in(APPROVED, SENDING, PAUSED) & (Deployment.frozen_sender == number)
    using = [d.id for d in Deployment.query(company.id, filter_condition=live)]
    if using:
        raise Conflict(
            f"Deployments {', '.join(map(str, using))} of company {company.id} send from {number}: "
            "let them finish, or cancel them, first.",
            code="in_use",
        )
    with transaction() as write:
        write.delete(Claim(key=sender_number_key(number)), condition=Claim.owner == str(company.id))
        actions = [Company.sender_numbers.delete({number}), Company.date_updated.set(clock.now())]
        changes = {"sender_numbers": (numbers_of(company), [n for n in numbers_of(company) if n != number])}
        if company.sender_id == number:
            actions.append(Company.sender_id.remove())
            changes["sender_id"] = (number, None)
        write.update(company, actions=actions, condition=Company.id.exists())
        _audited(write, company, changes)
    return _company(company.id)


def numbers_of(company: Company) -> list[str]:
    return sorted(company.sender_numbers or ())


def owner_of(number: str) -> int | None:
    """The id of the company a number is assigned to (None: to none)."""
    claim = Claim.get_or_none(sender_number_key(number), consistent_read=True)
    return int(claim.owner) if claim is not None else None


def chosen(company: Company, sender: str | None) -> Condition | None:
    """Check that the company may send from `sender` (normalised) and return the condition to write it
    under; ValueError says why not. A numeric sender must be one of its numbers, or be its `sender_id`
    already, set before numbers were assigned and assigned to nobody since (kept, so nothing breaks)."""
    if sender is None or not is_numeric(sender):
        return None
    if is_test(company.id):  # the live company's numbers, as they are now; a test send reaches no gateway
        chosen(Company.get(live_account(company.id), consistent_read=True), sender)
        return None
    if sender in (company.sender_numbers or set()):
        return Company.sender_numbers.contains(sender)
    if sender == company.sender_id and owner_of(sender) is None:
        return Company.sender_id == sender
    raise ValueError(NOT_OURS)


def recipient_of(number: str | None) -> Company | None:
    """The one company an SMS written to `number` reaches: the number's owner. A number assigned to nobody
    reaches the one company whose `sender_id` it was before numbers were assigned; if several named it,
    none of them (they cannot all be its owner), until the operator assigns it."""
    if number is None:
        return None
    owner = owner_of(number)
    if owner is not None:
        return Company.get_or_none(owner)
    named = [hit.id for hit in Company.by_sender.query(number) if not is_test(hit.id)][:2]
    if len(named) > 1:
        logger.error("inbound SMS to a number several companies name and none owns", companies=named)
        return None
    return Company.get_or_none(named[0]) if named else None


def may_reply_from(company: Company, number: str | None) -> bool:
    """Whether a confirmation may go from the number a subscriber wrote to: not when it is another
    company's (a gateway may report any `to`)."""
    if number is None or not is_numeric(number) or number in (company.sender_numbers or set()):
        return True
    return owner_of(number) in (None, company.id)


def _release_from_others(number: str, owner: int) -> list[int]:
    """Clear `sender_id` at every other company that names the number, so none of them sends from it (the
    owner's own test data keeps it)."""
    released = []
    for hit in Company.by_sender.query(number):
        if live_account(hit.id) == owner:
            continue
        try:
            with transaction() as write:
                write.update(
                    Company(id=hit.id),
                    actions=[Company.sender_id.remove(), Company.date_updated.set(clock.now())],
                    condition=Company.sender_id == number,
                )
                _audited(write, Company(id=hit.id), {"sender_id": (number, None)})
        except TransactWriteError as error:
            if failed_conditions(error)[:1] != [True]:
                raise
            continue
        logger.warning("sender_id released: the number is another company's", company=hit.id, owner=owner)
        released.append(hit.id)
    return released


def _audited(write: TransactWrite, company: Company, changes: dict[str, tuple[Any, Any]]) -> None:
    """The operator's change of a company's numbers, in the audit log with it."""
    record(write, Caller.operator(company.id), "company.updated", "company", company.id, changes)


def _company(company_id: int) -> Company:
    company = Company.get_or_none(company_id, consistent_read=True)
    if company is None:
        raise NotFound(f"There is no company {company_id}.")
    return company


def _number(value: str, region: str) -> str:
    try:
        number = normalise_sender(value, region)
    except ValueError as error:
        raise invalid_field("number", str(error)) from None
    if number is None or not is_numeric(number):
        raise invalid_field("number", "must be a number that can receive (an alphanumeric sender cannot)")
    return number
