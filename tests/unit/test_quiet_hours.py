from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from chalicelib.domain.rules.quiet_hours import is_permitted, marketing_may_go, next_opening

JHB = "Africa/Johannesburg"  # UTC+2 all year


def sast(text: str) -> datetime:
    return datetime.fromisoformat(text + "+02:00")


@pytest.mark.parametrize(
    ("moment", "permitted"),
    [
        ("2026-11-26T07:59:59", False),  # Thursday before 08:00
        ("2026-11-26T08:00:00", True),
        ("2026-11-26T19:59:59", True),
        ("2026-11-26T20:00:00", False),
        ("2026-11-26T23:59:59", False),
        ("2026-11-27T00:00:00", False),  # midnight
        ("2026-11-28T08:30:00", False),  # Saturday before 09:00
        ("2026-11-28T09:00:00", True),
        ("2026-11-28T12:59:59", True),
        ("2026-11-28T13:00:00", False),  # Saturday 13:00
        ("2026-11-29T12:00:00", False),  # Sunday
        ("2026-12-16T12:00:00", False),  # Day of Reconciliation (public holiday)
        ("2026-12-25T10:00:00", False),  # Christmas
        ("2026-12-24T10:00:00", True),
    ],
)
def test_south_african_marketing_hours(moment, permitted):
    assert is_permitted(sast(moment), JHB, "ZA") is permitted


def test_hours_follow_the_company_time_zone():
    moment = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)  # 19:30 in Johannesburg, 17:30 in London
    assert is_permitted(moment, JHB, "ZA")
    assert is_permitted(moment, "Europe/London", "GB")
    assert not is_permitted(datetime(2026, 11, 26, 18, 30, tzinfo=UTC), JHB, "ZA")


def test_the_next_opening_skips_sundays_and_holidays():
    assert next_opening(sast("2026-11-26T20:00:00"), JHB, "ZA") == sast("2026-11-27T08:00:00")
    assert next_opening(sast("2026-11-28T13:00:00"), JHB, "ZA") == sast("2026-11-30T08:00:00")
    assert next_opening(sast("2026-12-15T21:00:00"), JHB, "ZA") == sast("2026-12-17T08:00:00")
    assert next_opening(sast("2026-11-28T06:00:00"), JHB, "ZA") == sast("2026-11-28T09:00:00")
    assert next_opening(sast("2026-11-26T10:00:00"), JHB, "ZA") == sast("2026-11-26T10:00:00")


@dataclass
class Settings:
    quiet_hours: bool = True
    timezone: str = JHB
    default_region: str = "ZA"


@pytest.mark.parametrize(
    ("settings", "moment", "may"),
    [
        (Settings(), "2026-11-26T19:59:59", True),
        (Settings(), "2026-11-26T20:00:00", False),
        (Settings(), "2026-12-16T10:00:00", False),  # Day of Reconciliation
        (Settings(quiet_hours=False), "2026-12-16T10:00:00", True),
        (Settings(quiet_hours=False), "2026-11-29T23:00:00", True),  # a Sunday night
        (Settings(timezone="Europe/London", default_region="GB"), "2026-11-26T21:30:00", True),  # 19:30 there
    ],
)
def test_one_question_decides_whether_marketing_may_go(settings, moment, may):
    assert marketing_may_go(settings, "sms", sast(moment)) is may


def test_an_unknown_channel_is_a_programmer_mistake():
    with pytest.raises(AssertionError):
        marketing_may_go(Settings(), "pigeon", sast("2026-11-26T10:00:00"))
