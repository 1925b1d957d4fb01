"""Credits: one per SMS segment, paid from the company's balance. The balance is never negative and no
credit moves twice: every movement is a conditional write inside the transaction that makes it
necessary (the approval, the message, the settlement), so it happens exactly when that does. A take
also counts in the day's use under the company's daily credit limit (see `daily_credit_limit`). A test
tenant's credits never move: its sends cost nothing, though quotes still say what they would."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock, daily_credit_limit
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.audit.entries import record
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


def take(write: TransactWrite, company: Company, credits: int, also: Condition | None = None) -> None:
    """Take `credits` in `write`: a deployment's reservation at approval, or an API message's price,
    counted in the day's use. The write fails its condition when the balance does not cover them or the
    daily limit has no room (see `refusal`), when the company no longer meets `also`, or when its limit
    changed since `company` was read. A take the limit refuses outright raises its 402 here. A test
    tenant only has to meet `also`."""
    if is_test(company.id):
        write.condition_check(Company, company.id, condition=Company.id.exists() if also is None else also)
        return
    day_actions, day_condition = daily_credit_limit.counted(company, credits)
    condition = (Company.credits >= credits) & day_condition
    write.update(
        Company(id=company.id),
        actions=[Company.credits.add(-credits), *day_actions],
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


def pay_for(record: Model, new: Condition, company: Company, credits: int) -> None:
    """Save `record` (an API message, email or bulk request) and take its price in one transaction:
    402 if the balance is short or the daily limit has no room, `AlreadyPaid` if the record was there;
    a conflict with another write to the busy company item (or a limit changed since `company` was
    read) is retried, and if it persists is a 409."""
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
                company = Company.get(company.id, consistent_read=True)
                refused = refusal(company, credits)
                if refused is not None:
                    raise refused from error
            elif not conflicted(error):
                raise
            if attempt == CONFLICT_RETRIES:
                raise Conflict(
                    "Too many payments at once; please retry.", code="concurrent_change"
                ) from error
            back_off(attempt)


def refusal(company: Company, credits: int) -> InsufficientCredits | None:
    """Why taking `credits` fails against `company` as read now: the daily limit's 402, else the
    balance's; None when neither refuses it (what the take read changed meanwhile)."""
    if (refused := daily_credit_limit.refusal(company, credits)) is not None:
        return refused
    return _short(company, credits) if company.credits < credits else None


def shortfall(company: int, credits: int) -> InsufficientCredits:
    """The 402 for a `take` that was refused: the daily limit's, or what was needed, the balance and the
    difference."""
    current = Company.get(company, consistent_read=True)
    return refusal(current, credits) or _short(current, credits)


def _short(company: Company, credits: int) -> InsufficientCredits:
    balance = company.credits
    return InsufficientCredits(
        f"Sending needs {credits:,} credits; the balance is {balance:,} (short by {credits - balance:,}).",
        code="insufficient_credits",
    )


def top_up(company_id: int, amount: int) -> Company:
    """Add credits to a company's balance (the operator's CLI; never a client-writable field), audited
    with the balance before and after; retried while sends move the balance meanwhile."""
    if amount <= 0:
        raise invalid_field("amount", "must be a positive whole number of credits")
    if is_test(company_id):
        raise invalid_field("company", "is a company's test data, which spends no credits")
    for attempt in range(CONFLICT_RETRIES + 1):
        added = _add_to_balance(company_id, amount)
        if added is not None:
            return added
        back_off(attempt)
    raise Conflict("The balance kept changing; please retry.", code="concurrent_change")


def _add_to_balance(company_id: int, amount: int) -> Company | None:
    """One try: the addition holds the balance it read (so the entry's before is exact); None if that
    moved meanwhile."""
    company = Company.get_or_none(company_id, consistent_read=True)
    if company is None:
        raise NotFound(f"There is no company {company_id}.")
    try:
        with transaction() as write:
            write.update(
                company,
                actions=[Company.credits.add(amount), Company.date_updated.set(clock.now())],
                condition=Company.credits == company.credits,
            )
            changes = {"credits": (company.credits, company.credits + amount)}
            record(write, Caller.operator(company_id), "credits.added", "company", company_id, changes)
    except TransactWriteError as error:
        if failed_conditions(error)[:1] == [True] or conflicted(error):
            return None
        raise
    return Company.get(company_id, consistent_read=True)
