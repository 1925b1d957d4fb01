"""When an EventBridge schedule expression (`rate(...)` or `cron(...)`, in UTC) fires next."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}  # noqa: SIM905
_WEEKDAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_SEARCH_YEARS = 5


class ScheduleError(ValueError):
    """An expression the embedded stack cannot run the way EventBridge would."""


@dataclass(frozen=True)
class Schedule:
    expression: str
    period: timedelta | None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] | None = None
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] | None = None
    years: frozenset[int] | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after `moment` (for a rate: one period after it)."""
        if self.period is not None:
            return moment + self.period
        start = (moment.astimezone(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * _SEARCH_YEARS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise ScheduleError(f"{self.expression} does not fire in the next {_SEARCH_YEARS} years")

    def _day_matches(self, day: datetime) -> bool:
        aws_weekday = day.isoweekday() % 7 + 1  # EventBridge counts SUN=1 … SAT=7
        return (
            day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or aws_weekday in self.weekdays)
            and (self.years is None or day.year in self.years)
        )


def parse(expression: str) -> Schedule:
    expression = expression.strip()
    rate = _RATE.fullmatch(expression)
    if rate:
        count, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if count < 1:
            raise ScheduleError(f"{expression}: a rate must be at least 1")
        return Schedule(expression, timedelta(seconds=count * _UNIT_SECONDS[unit]))
    if not (expression.startswith("cron(") and expression.endswith(")")):
        raise ScheduleError(f"{expression}: expected rate(...) or cron(...)")
    fields = expression[5:-1].split()
    if len(fields) != 6:
        raise ScheduleError(f"{expression}: cron takes six fields (minutes hours day month weekday year)")
    minutes, hours, days, months, weekdays, years = fields
    if (days == "?") == (weekdays == "?"):
        raise ScheduleError(f"{expression}: exactly one of day-of-month and day-of-week must be ?")
    return Schedule(
        expression,
        None,
        minutes=_field(minutes, 0, 59),
        hours=_field(hours, 0, 23),
        days=None if days in ("?", "*") else _field(days, 1, 31),
        months=_field(months, 1, 12, _MONTHS),
        weekdays=None if weekdays in ("?", "*") else _field(weekdays, 1, 7, _WEEKDAYS),
        years=None if years == "*" else _field(years, 1970, 2199),
    )


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        spec, _, step_text = part.partition("/")
        step = _number(step_text, names=None) if step_text else 1
        if spec in ("*", "?"):
            first, last = low, high
        elif "-" in spec:
            first_text, last_text = spec.split("-", 1)
            first, last = _number(first_text, names), _number(last_text, names)
        else:
            first = _number(spec, names)
            last = high if step_text else first
        if not low <= first <= last <= high or step < 1:
            raise ScheduleError(f"{text}: values must lie in {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"{text!r} is not supported here (use numbers, names, ranges, lists and steps)")
    return int(text)
