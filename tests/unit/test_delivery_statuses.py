"""Which recipient and message statuses cost credits: one table, the one the reports and settlement use."""

import pytest

from chalicelib.domain.rules.lifecycle import DELIVERY_STATUSES, Delivery, is_charged


@pytest.mark.parametrize(
    ("status", "taken_by_gateway", "charged"),
    [
        ("queued", False, False),
        ("sending", False, False),
        ("sent", True, True),
        ("delivered", True, True),
        ("unknown", False, True),  # a crash's claim may well have been sent
        ("failed", False, False),  # refused before the gateway took it: free
        ("failed", True, True),  # the gateway took it, then it failed: paid for
        ("opted_out", False, False),
    ],
)
def test_what_costs_credits(status, taken_by_gateway, charged):
    assert is_charged(status, taken_by_gateway) is charged


def test_statuses_are_stored_and_shown_as_their_names():
    assert DELIVERY_STATUSES == ("queued", "sending", "sent", "delivered", "failed", "opted_out", "unknown")
    assert Delivery.OPTED_OUT == "opted_out" and f"{Delivery.UNKNOWN}" == "unknown"
