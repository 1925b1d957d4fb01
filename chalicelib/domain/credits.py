"""Credits: one per SMS segment, paid from the company's balance. The balance is never negative and no
credit moves twice: every movement is a conditional write inside the transaction that makes it
necessary (the approval, the message, the settlement), so it happens exactly when that does. A test
tenant's credits never move: its sends cost nothing, though quotes still say what they would."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock
from chalicelib.domain.errors import Conflict, InsufficientCredits, NotFound, invalid_field
from chalicelib.domain.rules.modes import is_test
from chalicelib.models.base import (
    CONFLICT_RETRIES,
    back_off,
    condition_failed,
    conflicted,
    failed_conditions,
    transaction,
)
from chalicelib.models.companies import Company, credit_addition


def take(write: TransactWrite, company: int, credits: int, also: Condition | None = None) -> None:
    """Take `credits` in `write`: a deployment's reservation at approval, or an API message's price.
    The write fails its condition when the balance does not cover them (see `shortfall`), or when the
    company no longer meets `also`; a test tenant only has to meet `also`."""
    if is_test(company):
        write.condition_check(Company, company, condition=Company.id.exists() if also is None else also)
        return
    condition = Company.credits >= credits
    write.update(
        Company(id=company),
        actions=[Company.credits.add(-credits)],
        condition=condition if also is None else condition & also,
    )


def refund(write: TransactWrite, company: int, credits: int) -> None:
    """Give `credits` back in `write`: what a cancelled or settled deployment did not use."""
    if is_test(company):
        return
    write.update(Company(id=company), actions=[Company.credits.add(credits)], condition=Company.id.exists())


def refund_items(refunds: dict[int, int]) -> list[dict[str, Any]]:
    """The same refunds, by company, as the sender's low-level transaction items (none for zero, or for a
    test tenant)."""
    return [
        credit_addition(company, credits)
        for company, credits in refunds.items()
        if credits and not is_test(company)
    ]


class AlreadyPaid(Exception):
    """`pay_for` found its record written already: the same request (by idempotency key) paid for it."""


def pay_for(record: Model, new: Condition, company: int, credits: int) -> None:
    """Save `record` (an API message, email or bulk request) and take its price in one transaction:
    402 if the balance is short, `AlreadyPaid` if the record was there; a conflict with another write
    to the busy company item is retried, and if it persists is a 409."""
    for attempt in range(CONFLICT_RETRIES + 1):
        try:
            with transaction() as write:
                write.save(record, condition=new)
                take(write, company, credits)
            return
        except TransactWriteError as error:
            if failed_conditions(error)[:1] == [True]:
                raise AlreadyPaid(str(record)) from error
            if condition_failed(error):
                raise shortfall(company, credits) from error
            if not conflicted(error):
                raise
            if attempt == CONFLICT_RETRIES:
                raise Conflict(
                    "Too many payments at once; please retry.", code="concurrent_change"
                ) from error
            back_off(attempt)


def shortfall(company: int, credits: int) -> InsufficientCredits:
    """The 402 for a `take` the balance could not cover: what was needed, the balance, the difference."""
    balance = Company.get(company, consistent_read=True).credits
    return InsufficientCredits(
        f"Sending needs {credits:,} credits; the balance is {balance:,} (short by {credits - balance:,}).",
        code="insufficient_credits",
    )


def top_up(company_id: int, amount: int) -> Company:
    """Add credits to a company's balance (the operator's CLI; never a client-writable field)."""
    if amount <= 0:
        raise invalid_field("amount", "must be a positive whole number of credits")
    company = Company(id=company_id)
    try:
        company.update(
            actions=[Company.credits.add(amount), Company.date_updated.set(clock.now())],
            condition=Company.id.exists(),
        )
    except UpdateError as error:
        if condition_failed(error):
            raise NotFound(f"There is no company {company_id}.") from error
        raise
    return company
