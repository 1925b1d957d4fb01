"""Live and test mode: a company's test data lives in its test tenant, the company id `-<live id>`, so every
table's company scope keeps the two apart. The one place that knows the id scheme, and the simulator's
magic destinations (what each scripts is documented in docs/api.md)."""

from __future__ import annotations

LIVE, TEST = "live", "test"
MODES = (LIVE, TEST)

DELIVERED_NUMBER = "27000000001"
INVALID_NUMBER = "27000000002"
LATE_NUMBER = "27000000003"
STOP_NUMBER = "27000000004"
MAGIC_NUMBERS = (DELIVERED_NUMBER, INVALID_NUMBER, LATE_NUMBER, STOP_NUMBER)
LATE_SECONDS = 60

SIMULATOR_DOMAIN = "simulator.colony.test"
BOUNCE_ADDRESS = f"bounce@{SIMULATOR_DOMAIN}"
COMPLAINT_ADDRESS = f"complaint@{SIMULATOR_DOMAIN}"
DELIVERED_ADDRESS = f"delivered@{SIMULATOR_DOMAIN}"


def is_test(company: int) -> bool:
    """Whether `company` is a test tenant (every live id is positive)."""
    return company < 0


def test_tenant(live: int) -> int:
    """The test tenant of a live company."""
    assert live > 0, f"{live} is not a live company"
    return -live


def live_account(company: int) -> int:
    """The live company whose account (users, API keys, roles) a company id belongs to."""
    return abs(company)


def tenant_for(live: int, mode: str) -> int:
    """The company a key of `mode` acts in."""
    return test_tenant(live) if mode == TEST else live


def magic_number(digits: str) -> bool:
    """Whether `digits` (international, without `+`) is one of the simulator's numbers."""
    return digits in MAGIC_NUMBERS
