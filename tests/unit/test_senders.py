"""Sender ids: names stay as written, numbers become international digits whatever their spelling."""

import pytest

from chalicelib.domain.rules.senders import is_numeric, normalise_sender


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("ACME", "ZA", "ACME"),
        (" Acme Ltd ", "ZA", "Acme Ltd"),
        ("27821234567", "ZA", "27821234567"),
        ("+27821234567", "ZA", "27821234567"),
        ("+27 82 123 4567", "ZA", "27821234567"),
        ("082 123 4567", "ZA", "27821234567"),
        ("0821234567", "ZA", "27821234567"),
        ("tel:+27821234567", "ZA", "27821234567"),
        ("TEL:+27-82-123-4567", "ZA", "27821234567"),
        ("07911 123456", "GB", "447911123456"),
        ("31337", "ZA", "31337"),  # a short code is no phone number: its digits
        ("+31337", "ZA", "31337"),
        ("313 37", "ZA", "31337"),
        ("tel:31337", "ZA", "31337"),
        (None, "ZA", None),
        ("  ", "ZA", None),
    ],
)
def test_a_sender_is_one_spelling(typed, region, expected):
    assert normalise_sender(typed, region) == expected


@pytest.mark.parametrize("typed", ["not a sender!", "12", "1234567890123456", "ABCDEFGHIJKL", "sip:x@y"])
def test_a_sender_that_is_neither_name_nor_number_is_refused_with_the_rule(typed):
    with pytest.raises(ValueError, match="must be 1 to 11 letters"):
        normalise_sender(typed)


@pytest.mark.parametrize(("sender", "numeric"), [("27821234567", True), ("31337", True), ("ACME", False)])
def test_only_numbers_can_receive(sender, numeric):
    assert is_numeric(sender) is numeric
