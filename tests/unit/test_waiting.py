"""Why an approved deployment waits: its send date, the marketing hours, or the launcher's next minute."""

from datetime import UTC, datetime

import pytest

from chalicelib.domain.deployments.waiting import waiting
from chalicelib.domain.rules.lifecycle import APPROVED, DRAFT, PAUSED, SENDING
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment

THURSDAY_10 = datetime(2026, 11, 26, 8, tzinfo=UTC)  # 10:00 in Johannesburg
THURSDAY_21 = datetime(2026, 11, 26, 19, tzinfo=UTC)  # 21:00 there: marketing hours closed


def deployment(status=APPROVED, launch_at="2026-11-26T08:00:00Z", marketing=True, send_date=None):
    return Deployment(
        company=1,
        id=1,
        status=status,
        launch_queue="due" if status == APPROVED else None,
        launch_at=launch_at,
        marketing=marketing,
        send_date=send_date,
    )


LONDON = Company(id=1, timezone="Europe/London", default_region="GB", quiet_hours=True)
COMPANY = Company(id=1, timezone="Africa/Johannesburg", default_region="ZA", quiet_hours=True)


@pytest.mark.parametrize(
    ("held", "now", "expected"),
    [
        (deployment(), THURSDAY_10, ("launching", "2026-11-26T08:00:00+00:00")),
        (deployment(), THURSDAY_21, ("quiet_hours", "2026-11-27T06:00:00+00:00")),
        (deployment(marketing=False), THURSDAY_21, ("launching", "2026-11-26T08:00:00+00:00")),
        (
            deployment(launch_at="2026-11-28T08:00:00Z", send_date=datetime(2026, 11, 28, 8, tzinfo=UTC)),
            THURSDAY_10,
            ("send_date", "2026-11-28T08:00:00+00:00"),
        ),
        (
            deployment(launch_at="2026-11-27T06:00:00Z"),
            THURSDAY_21,
            ("quiet_hours", "2026-11-27T06:00:00+00:00"),
        ),
        (
            deployment(status=PAUSED, launch_at="2026-11-27T06:00:00Z"),
            THURSDAY_21,
            ("quiet_hours", "2026-11-27T06:00:00+00:00"),
        ),
        (deployment(status=PAUSED, launch_at=None), THURSDAY_21, None),
        (deployment(status=SENDING), THURSDAY_10, None),
        (deployment(status=DRAFT, launch_at=None), THURSDAY_10, None),
    ],
)
def test_what_holds_a_deployment_back(held, now, expected):
    found = waiting(held, COMPANY, now)
    assert (None if found is None else (found.reason, found.until.isoformat())) == expected


def test_a_deployment_paused_by_the_hours_says_launching_once_they_have_opened():
    # Paused at 20:00 until Friday 08:00 in London; it is 08:00:30 and the launcher has not run yet
    paused = Deployment(
        company=1, id=1, status=PAUSED, launch_queue="due", launch_at="2026-11-27T08:00:00Z", marketing=True
    )
    found = waiting(paused, LONDON, datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC))
    # The hours are open: nothing but the launcher's next minute holds it (as for an approved one)
    assert found is not None and found.reason == "launching", found
