"""Stats periods by the company's clock: the hour, day, month and year around a moment, and row ids."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from chalicelib.models.stats import (
    DAY,
    HOUR,
    period_key,
)

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    type: int
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    @property
    def key(self) -> str:
        return period_key(self.type, iso(self.start))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_of(moment: datetime, tz: str) -> Period:
    """The company's local hour that `moment` falls in (a local hour is not always a UTC hour)."""
    local = moment.astimezone(zoneinfo.ZoneInfo(tz)).replace(minute=0, second=0, microsecond=0)
    start = local.astimezone(UTC)
    return Period(HOUR, start, start + timedelta(hours=1))


def enclosing(period: Period, tz: str) -> Period:
    """The local day of an hour, the month of a day, the year of a month."""
    zone = zoneinfo.ZoneInfo(tz)
    first = period.start.astimezone(zone).date()
    if period.type == HOUR:
        start, end = first, first + timedelta(days=1)
    elif period.type == DAY:
        start = first.replace(day=1)
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    else:
        start, end = date(first.year, 1, 1), date(first.year + 1, 1, 1)
    return Period(period.type + 1, midnight(start, zone), midnight(end, zone))


def midnight(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


_COMPANY, _CAMPAIGN = 1 << 28, 1 << 29  # owner flags: a company's row, a campaign's (else a deployment's)


def row_id(company: int, deployment: int | None, period: Period, tz: str, campaign: int | None = None) -> int:
    """A stable integer id (below 2**53, so JavaScript reads it exactly) from what a row is: its owner,
    its type and its start in quarter hours since 2020 (periods of one type never share a start)."""
    if campaign is not None:
        owner = campaign | _CAMPAIGN
    else:
        owner = deployment if deployment is not None else abs(company) | _COMPANY  # a test tenant's too
    index = int((period.start - _EPOCH).total_seconds() // 900)
    return ((owner << 2 | (period.type - 1)) << 21) | (index & 0x1FFFFF)


def parse_row_id(value: int) -> tuple[str, int, int, datetime]:
    """What `row_id` made `value` from: the owner's kind (`d` deployment, `c` company, `k` campaign),
    its id, the period type and its start."""
    owner, period_type = value >> 23, ((value >> 21) & 3) + 1
    start = _EPOCH + timedelta(seconds=(value & 0x1FFFFF) * 900)
    if owner & _CAMPAIGN:
        return "k", owner & ~_CAMPAIGN, period_type, start
    if owner & _COMPANY:
        return "c", owner & ~_COMPANY, period_type, start
    return "d", owner, period_type, start


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
