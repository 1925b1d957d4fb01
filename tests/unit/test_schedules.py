from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.local.schedules import ScheduleError, parse


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "period"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rates_fire_one_period_later(expression, period):
    assert parse(expression).next_after(at("2026-11-26T10:00:30")) == at("2026-11-26T10:00:30") + timedelta(
        seconds=period
    )


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 2 * * ? *)", "2026-11-26T01:59:00", "2026-11-26T02:00:00"),
        ("cron(0 2 * * ? *)", "2026-11-26T02:00:00", "2026-11-27T02:00:00"),
        ("cron(*/15 * * * ? *)", "2026-11-26T10:07:10", "2026-11-26T10:15:00"),
        ("cron(0 0 1 * ? *)", "2026-11-26T00:00:00", "2026-12-01T00:00:00"),
        ("cron(0 0 1 * ? *)", "2026-12-31T23:59:00", "2027-01-01T00:00:00"),
        ("cron(30 8 ? * MON-FRI *)", "2026-11-27T09:00:00", "2026-11-30T08:30:00"),
        ("cron(0 12 ? * 1 *)", "2026-11-26T00:00:00", "2026-11-29T12:00:00"),
        ("cron(0 0 29 FEB ? *)", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
        ("cron(0,30 9-10 * * ? 2027)", "2026-11-26T00:00:00", "2027-01-01T09:00:00"),
    ],
)
def test_cron_fires_at_the_next_matching_minute_utc(expression, after, expected):
    assert parse(expression).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(1 week)",
        "every minute",
        "cron(0 2 * * * *)",
        "cron(0 2 ? * ? *)",
        "cron(0 2 L * ? *)",
        "cron(61 * * * ? *)",
        "cron(0 2 * *)",
    ],
)
def test_expressions_eventbridge_would_refuse_are_refused(expression):
    with pytest.raises(ScheduleError):
        parse(expression)
