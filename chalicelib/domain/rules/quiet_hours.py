"""When direct marketing may be sent: South African rules by default (CPA s12 and its regulations) —
no Sundays or public holidays, Saturdays 09:00 to 13:00, other days 08:00 to 20:00 — in the company's own
time zone, with the public holidays of its region."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import holidays

from chalicelib.domain.rules.channels import CHANNELS

_SATURDAY, _SUNDAY = 5, 6
WEEKDAY_HOURS = (time(8), time(20))
SATURDAY_HOURS = (time(9), time(13))
_LOOKAHEAD_DAYS = 30


def window_on(day: date, region: str) -> tuple[time, time] | None:
    """The permitted hours on a local calendar day, or None (Sunday, public holiday)."""
    if day.weekday() == _SUNDAY or day in _holidays(region, day.year):
        return None
    return SATURDAY_HOURS if day.weekday() == _SATURDAY else WEEKDAY_HOURS


def is_permitted(moment: datetime, timezone: str, region: str) -> bool:
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone))
    hours = window_on(local.date(), region)
    return hours is not None and hours[0] <= local.time() < hours[1]


class MarketingSettings(Protocol):
    """What of a company decides its marketing hours (a Company is one)."""

    quiet_hours: bool
    timezone: str
    default_region: str


def marketing_may_go(company: MarketingSettings, channel: str, moment: datetime) -> bool:
    """May direct marketing by `channel` go out at `moment`? Always when the company turned quiet hours
    off; otherwise only inside its permitted hours, in its own time zone. Launch, the sender and API
    messages all ask this one question; every channel keeps the same hours."""
    assert channel in CHANNELS, f"unknown channel {channel!r}"
    return not company.quiet_hours or is_permitted(moment, company.timezone, company.default_region)


def next_opening(moment: datetime, timezone: str, region: str) -> datetime:
    """The first moment at or after `moment` when sending is permitted (UTC)."""
    if is_permitted(moment, timezone, region):
        return moment
    zone = zoneinfo.ZoneInfo(timezone)
    local = moment.astimezone(zone)
    for offset in range(_LOOKAHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        hours = window_on(day, region)
        if hours is None:
            continue
        opening = datetime.combine(day, hours[0], zone)
        if opening >= local or (offset == 0 and local.time() < hours[1]):
            return max(opening, local).astimezone(UTC)
    raise AssertionError(f"no permitted hours in {_LOOKAHEAD_DAYS} days")


@functools.cache
def _holidays(region: str, year: int) -> holidays.HolidayBase | set:
    if region.upper() not in holidays.list_supported_countries():
        return set()  # a country the holidays package does not know: its weekday rules still apply
    return holidays.country_holidays(region.upper(), years=year)
