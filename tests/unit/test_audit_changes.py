"""What an audit entry keeps of a change: the fields that changed, before and after, secrets masked."""

import pytest

from chalicelib.domain.rules.audit_changes import MASK, SECRET_FIELDS, described


def test_only_fields_that_changed_are_kept_with_before_and_after():
    kept = described({"name": ("Acme", "Acme Ltd"), "send_rate": (20, 20), "email_from": (None, "a@b.co")})
    assert kept == {
        "email_from": {"before": None, "after": "a@b.co"},
        "name": {"before": "Acme", "after": "Acme Ltd"},
    }


@pytest.mark.parametrize("field", sorted(SECRET_FIELDS))
def test_a_secret_is_kept_as_changed_only(field):
    assert described({field: ("old-secret", "new-secret")}) == {field: {"before": MASK, "after": MASK}}
    assert described({field: (None, "new-secret")}) == {field: {"before": None, "after": MASK}}
    assert described({field: ("old-secret", None)}) == {field: {"before": MASK, "after": None}}


def test_the_secrets_named_are_those_colony_holds():
    expected = {"secret_hash", "password_hash", "callback_secret", "unsubscribe_secret", "webhook_token"}
    assert expected <= SECRET_FIELDS
