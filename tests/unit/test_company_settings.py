import pytest

from chalicelib.domain.accounts.companies import DEFAULTS, check_settings
from chalicelib.domain.errors import InvalidInput


def test_defaults_are_the_south_african_ones():
    assert check_settings(dict(DEFAULTS)) == DEFAULTS
    assert DEFAULTS["default_region"] == "ZA"
    assert DEFAULTS["timezone"] == "Africa/Johannesburg"
    assert DEFAULTS["quiet_hours"] is True
    assert DEFAULTS["require_second_approver"] is True


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"default_region": " gb "}, {"default_region": "GB"}),
        ({"timezone": "America/New_York"}, {"timezone": "America/New_York"}),
        ({"sender_id": "ACME"}, {"sender_id": "ACME"}),
        ({"sender_id": "Acme Store1"}, {"sender_id": "Acme Store1"}),
        ({"sender_id": "27815854565"}, {"sender_id": "27815854565"}),
        ({"sender_id": "  "}, {"sender_id": None}),
        ({"sender_id": None}, {"sender_id": None}),
        ({"name": "  Acme  "}, {"name": "Acme"}),
        ({"optout_text": "Reply STOP"}, {"optout_text": "Reply STOP"}),
    ],
)
def test_valid_settings_are_normalised(changes, expected):
    assert check_settings(changes) == expected


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"default_region": "XX"}, "default_region"),
        ({"default_region": "ZAF"}, "default_region"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "SAST"}, "timezone"),
        ({"sender_id": "ACME STORE 12"}, "sender_id"),
        ({"sender_id": "12"}, "sender_id"),
        ({"sender_id": "Acme!"}, "sender_id"),
        ({"name": "   "}, "name"),
        ({"optout_text": ""}, "optout_text"),
        ({"optout_text": "x" * 101}, "optout_text"),
    ],
)
def test_invalid_settings_name_the_field(changes, field):
    with pytest.raises(InvalidInput) as raised:
        check_settings(changes)
    assert list(raised.value.fields) == [field]
