"""A company's daily credit limit: the most credits its approvals and API sends may take in one day (its
own date), so a leaked key cannot spend the whole balance. The day's use is counted in the same
conditional update that takes the credits, so parallel takes cannot pass it; refunds do not give it back."""

from __future__ import annotations

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.domain import clock
from chalicelib.domain.errors import InsufficientCredits
from chalicelib.models.companies import Company, day_use

MAX_LIMIT = 1_000_000_000


def used_today(company: Company) -> int:
    """The credits the company's takes have used today (in its time zone)."""
    used = company.credits_used.as_dict() if company.credits_used is not None else {}
    return int(used.get(clock.today_in(company.timezone), 0))


def counted(company: Company, credits: int) -> tuple[list[Action], Condition]:
    """The actions and condition that count `credits` in today's use of `company` (as read). A take the
    limit refuses as read is refused at once if a fresh read refuses it too (the limit may have risen)."""
    if refusal(company, credits) is not None:
        company = Company.get(company.id, consistent_read=True)
        if (refused := refusal(company, credits)) is not None:
            raise refused
    held = list(company.credits_used.as_dict()) if company.credits_used is not None else None
    return day_use(clock.today_in(company.timezone), credits, company.daily_credit_limit, held)


def refusal(company: Company, credits: int) -> InsufficientCredits | None:
    """The 402 for taking `credits` from `company` as read, when today's use leaves no room; else None."""
    limit = company.daily_credit_limit
    if limit is None or credits <= 0:  # nothing taken is never past a limit, even one lowered today
        return None
    used = used_today(company)
    if used + credits <= limit:
        return None
    return InsufficientCredits(
        f"Sending needs {credits:,} credits; the daily credit limit is {int(limit):,} and today's use is "
        f"{used:,} (left today: {max(int(limit) - used, 0):,}).",
        code="daily_credit_limit",
    )


def check_limit(value: int | None) -> int | None:
    """A company's `daily_credit_limit` as set: None (no limit) or a positive whole number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ValueError(f"must be null (no limit) or a whole number of credits from 1 to {MAX_LIMIT:,}")
    return value
