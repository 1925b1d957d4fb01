"""Stats periods by the company's clock, row ids and the hour-row counts, without AWS."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.stats import periods, reading
from chalicelib.domain.stats.tally import Tally
from chalicelib.models.stats import DAY, HOUR, MONTH, YEAR

SAST = "Africa/Johannesburg"


def utc(text):
    return datetime.fromisoformat(text).astimezone(UTC)


def chain(moment, tz):
    """The hour of `moment` and the day, month and year around it, as (start, end) in UTC ISO."""
    period = periods.hour_of(moment, tz)
    found = [period]
    while period.type < YEAR:
        period = periods.enclosing(period, tz)
        found.append(period)
    return [(periods.iso(p.start), periods.iso(p.end)) for p in found]


def test_a_south_african_evening_belongs_to_that_local_day_month_and_year():
    assert chain(utc("2026-12-31T23:30:00+02:00"), SAST) == [
        ("2026-12-31T21:00:00Z", "2026-12-31T22:00:00Z"),
        ("2026-12-30T22:00:00Z", "2026-12-31T22:00:00Z"),
        ("2026-11-30T22:00:00Z", "2026-12-31T22:00:00Z"),
        ("2025-12-31T22:00:00Z", "2026-12-31T22:00:00Z"),
    ]


def test_half_hour_zones_have_half_hour_hours():
    assert chain(utc("2026-11-26T10:45:00+05:30"), "Asia/Kolkata")[:2] == [
        ("2026-11-26T04:30:00Z", "2026-11-26T05:30:00Z"),
        ("2026-11-25T18:30:00Z", "2026-11-26T18:30:00Z"),
    ]


def test_days_around_daylight_saving_have_23_and_25_hours():
    spring = chain(utc("2026-03-08T12:00:00-04:00"), "America/New_York")[1]
    autumn = chain(utc("2026-10-25T12:00:00+00:00"), "Europe/London")[1]
    assert spring == ("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z")
    assert autumn == ("2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z")


def test_row_ids_differ_for_every_owner_type_and_start_and_stay_below_2_53():
    start = utc("2026-01-01T00:00:00+02:00")
    hours = [periods.hour_of(start + timedelta(hours=h), SAST) for h in range(24 * 400)]
    ids = set()
    for period in hours:
        for owner in (7, None):
            ids.add(periods.row_id(3, owner, period, SAST))
    day = periods.enclosing(hours[0], SAST)
    for period in (day, periods.enclosing(day, SAST), periods.enclosing(periods.enclosing(day, SAST), SAST)):
        ids.add(periods.row_id(3, 7, period, SAST))
        ids.add(periods.row_id(3, 7, period, "Asia/Kolkata"))  # the same period start: the same row
    assert len(ids) == 2 * len(hours) + 3
    assert max(ids) < 2**53
    new_york_day = periods.enclosing(periods.hour_of(start, "America/New_York"), "America/New_York")
    assert periods.row_id(3, 7, new_york_day, "America/New_York") != periods.row_id(3, 7, day, SAST)


def test_a_tally_adds_per_hour_and_moves_between_columns():
    tally = Tally()
    moment = utc("2026-11-26T10:10:00+02:00")
    tally.add(1, 5, moment, SAST, "sent", 3)
    tally.add(1, 5, moment + timedelta(minutes=30), SAST, "sent")
    tally.move(1, 5, moment, SAST, "sent", "unsent")
    tally.move(1, 5, moment, SAST, "unsent", "unsent")
    updates = {u["Update"]["Key"]["scope"]["S"]: u["Update"] for u in tally.updates()}
    assert set(updates) == {"c1", "d5"}
    values = updates["d5"]["ExpressionAttributeValues"]
    assert (values[":sent"], values[":unsent"]) == ({"N": "3"}, {"N": "1"})
    assert updates["d5"]["Key"]["period"]["S"] == f"{HOUR}#2026-11-26T08:00:00Z"
    assert not Tally()


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2026-11-27", False, "2026-11-26T22:00:00Z"),
        ("2026-11-27", True, "2026-11-27T21:59:59Z"),
        ("2026-11-27T10:00:00", False, "2026-11-27T08:00:00Z"),
        ("2026-11-27T10:00:00Z", False, "2026-11-27T10:00:00Z"),
    ],
)
def test_start_and_end_are_read_in_the_companys_zone(value, end, expected):
    assert reading.parse_moment(value, "start", SAST, end=end) == expected


@pytest.mark.parametrize("value", ["yesterday", "0001-01-01", "2026-02-30"])
def test_impossible_moments_are_refused(value):
    with pytest.raises(InvalidInput):
        reading.parse_moment(value, "start", SAST)


def test_period_names():
    assert [reading.parse_period_name(n) for n in ("hourly", "daily", "monthly", "yearly")] == [
        HOUR,
        DAY,
        MONTH,
        YEAR,
    ]
    with pytest.raises(InvalidInput):
        reading.parse_period_name("weekly")
