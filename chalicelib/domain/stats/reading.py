"""Reading stats rows: the period names of the routes, start and end in the company's zone, pages of rows."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.errors import NotFound, invalid_field
from chalicelib.domain.rules.modes import test_tenant
from chalicelib.domain.stats.periods import iso, midnight, parse_row_id
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.stats import (
    DAY,
    HOUR,
    MONTH,
    YEAR,
    Stat,
    period_key,
)

PERIOD_NAMES = {"hourly": HOUR, "daily": DAY, "monthly": MONTH, "yearly": YEAR}


def parse_period_name(name: str) -> int:
    if name not in PERIOD_NAMES:
        raise invalid_field("period", f"must be one of {', '.join(PERIOD_NAMES)}")
    return PERIOD_NAMES[name]


def parse_moment(value: str | None, name: str, tz: str, *, end: bool = False) -> str | None:
    """`start`/`end` as an ISO date or datetime, in the company's time zone unless it carries an
    offset, as a row key bound; a date as `end` takes in that whole day."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(tz))
            if end and len(value.strip()) == 10:  # a date: up to the last second of that day
                moment = midnight(moment.date() + timedelta(days=1), zoneinfo.ZoneInfo(tz))
                moment -= timedelta(seconds=1)
        if not 2000 <= moment.year <= 2200:  # the year as written (in its zone or the company's)
            raise ValueError(value)
        return iso(moment)
    except (ValueError, OverflowError):
        raise invalid_field(name, "must be an ISO 8601 date or date and time (years 2000 to 2200)") from None


def list_rows(scope: str, period_type: int, start: str | None, end: str | None, page: PageRequest) -> Page:
    """Rows of one type whose period starts within [start, end], oldest first."""
    if start and end and start > end:
        raise invalid_field("end", "must not be before start")
    low = period_key(period_type, start or "0")
    high = period_key(period_type, end or "9")
    return paginate(
        Stat, scope, page, range_key_condition=Stat.period.between(low, high), range_bounds=(low, high)
    )


def one_row(caller: Caller, period: str, row_id: str, scope: str) -> Stat:
    """One row of `scope` (the caller's company's, or one of its deployments' or campaigns', already
    checked to be the caller's) by the id it is listed with; any other id is a 404."""
    period_type = parse_period_name(period)
    found = None
    if row_id.isascii() and row_id.isdigit() and len(row_id) <= 16:
        kind, owner, row_type, start = parse_row_id(int(row_id))
        owner = test_tenant(owner) if kind == "c" and caller.test and owner else owner
        if f"{kind}{owner}" == scope and row_type == period_type:
            found = Stat.get_or_none(scope, period_key(period_type, iso(start)))
    if found is None:
        raise NotFound(f"There is no {period} stats row {row_id}.")
    return found


def rows_between(
    caller: Caller, scope: str, period: str, start: str | None, end: str | None, page: PageRequest
) -> Page:
    """A page of `scope`'s rows of the named period starting within `start`..`end`, both read in the
    caller's company's time zone (a date alone is its whole day)."""
    period_type = parse_period_name(period)
    tz = get_company(caller).timezone
    return list_rows(
        scope, period_type, parse_moment(start, "start", tz), parse_moment(end, "end", tz, end=True), page
    )
