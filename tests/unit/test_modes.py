"""The one rule that knows how test data is kept apart, and what accepts the simulator's destinations."""

import pytest

from chalicelib.domain.accounts.auth import KEY_PREFIX, SESSION_PREFIX, TEST_KEY_PREFIX, parse_token
from chalicelib.domain.imports.jobs import parse_upload_key, upload_key
from chalicelib.domain.inbound.receipts import parse_reference
from chalicelib.domain.rules import modes
from chalicelib.domain.rules.addresses import InvalidAddress, normalise_address
from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise

PREFIXES = (KEY_PREFIX, TEST_KEY_PREFIX, SESSION_PREFIX)


def test_a_test_tenant_is_the_negative_of_its_live_company_and_knows_its_account():
    assert modes.test_tenant(12) == -12 and modes.is_test(-12) and not modes.is_test(12)
    assert modes.live_account(-12) == modes.live_account(12) == 12
    assert modes.tenant_for(12, modes.TEST) == -12 and modes.tenant_for(12, modes.LIVE) == 12
    with pytest.raises(AssertionError):
        modes.test_tenant(-12)  # a test tenant has no test tenant of its own


@pytest.mark.parametrize(
    "token, parsed",
    [
        ("ck_7_s3cr_et", ("ck", 7, "s3cr_et")),
        ("ck_test_7_s3cr_et", ("ck_test", 7, "s3cr_et")),
        ("cs_7_abc", ("cs", 7, "abc")),
        ("ck_test__abc", None),
        ("ck_testing_7_abc", None),
        ("ck_test_7_", None),
    ],
)
def test_a_test_key_is_told_from_a_live_one_by_its_prefix(token, parsed):
    assert parse_token(token, PREFIXES) == parsed


@pytest.mark.parametrize("number", modes.MAGIC_NUMBERS)
def test_the_magic_numbers_are_numbers_in_test_mode_only(number):
    assert normalise(number, "ZA", simulated=True) == number
    assert normalise(f"+{number}", "ZA", simulated=True) == number
    with pytest.raises(InvalidPhoneNumber):
        normalise(number, "ZA")
    assert normalise("0821234567", "ZA", simulated=True) == "27821234567"  # real numbers as ever


def test_the_simulators_addresses_are_addresses_in_test_mode_only():
    assert normalise_address(modes.BOUNCE_ADDRESS, simulated=True) == modes.BOUNCE_ADDRESS
    with pytest.raises(InvalidAddress):
        normalise_address(modes.BOUNCE_ADDRESS)


def test_a_test_tenants_references_and_upload_keys_read_back():
    assert parse_reference("m-12:5") == ("m", -12, 5)
    assert parse_reference("m12:5") == ("m", 12, 5)
    assert parse_reference("m--12:5") is None and parse_reference("d-4:27821234567") is None
    assert parse_upload_key(upload_key(-12, 5, "list.csv")) == (-12, 5)
    assert parse_upload_key("uploads/--12/5/list.csv") is None
    assert parse_upload_key("uploads/-0/5/list.csv") is None
