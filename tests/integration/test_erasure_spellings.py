"""Erasure finds the person in every spelling the importer reads, and never another person with the
same national digits; a session is the live account's in either mode."""

from __future__ import annotations

from chalicelib import storage
from chalicelib.domain.rules.person_spellings import found_in, number_pattern
from chalicelib.domain.rules.phones import normalise
from chalicelib.models.contacts import Contact
from tests.factories import create_contact_list, create_contacts
from tests.integration.test_callbacks import receiver
from tests.integration.test_erasures import NUMBER, OTHER, erase
from tests.integration.test_imports import import_file

__all__ = ["receiver"]  # the fixture, shared with test_callbacks

NAMIBIAN = "+264 81 585 4565"  # another person: Namibia's 081 585 4565, whose national digits are Ann's


def _uploads_holding(company: int, digits: str) -> list[str]:
    return [k for k in storage.keys_under(f"uploads/{company}/") if digits in storage.get(k).decode("utf-8")]


def test_an_upload_spelling_the_number_with_zero_width_spaces_is_deleted_by_the_erasure(api, tenants, pump):
    acme, _ = tenants
    spelling = "081\u200b585\u200b4565"
    assert normalise(spelling, "ZA") == NUMBER
    data = f"Mobile Number,First Name\n{spelling},Ann\n0820000009,Bob\n".encode()
    job = import_file(api, pump, acme.member, "people.csv", data)
    assert job["imported"] == 2, job
    record = erase(api, acme, pump, msisdn=NUMBER)
    assert record["counts"]["contacts_removed"] == 1
    assert _uploads_holding(acme.id, "4565") == [], "the upload naming the person was kept"


def test_a_soft_hyphenated_number_in_a_contact_field_is_erased(api, tenants, pump):
    acme, _ = tenants
    spelling = "081\u00ad585\u00ad4565"
    assert normalise(spelling, "ZA") == NUMBER
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, OTHER, last_name=f"(partner {spelling})")
    erase(api, acme, pump, msisdn=NUMBER)
    (kept,) = list(Contact.query(contact_list.id))
    assert "4565" not in (kept.last_name or ""), kept.last_name


def test_erasing_a_south_african_number_leaves_a_namibian_number_with_the_same_national_digits():
    assert normalise(NAMIBIAN, "ZA") == "264815854565"
    assert not found_in(number_pattern(NUMBER), f"Windhoek office: {NAMIBIAN}")


def test_an_erasure_deletes_no_upload_that_names_only_a_namibian_with_the_same_digits(api, tenants, pump):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, NUMBER)
    data = f"Mobile Number,First Name\n{NAMIBIAN},Nam\n0820000009,Bob\n".encode()
    job = import_file(api, pump, acme.member, "namibia.csv", data)
    assert job["imported"] == 2, job
    assert _uploads_holding(acme.id, "4565")
    erase(api, acme, pump, msisdn=NUMBER)
    assert _uploads_holding(acme.id, "4565"), "an upload naming only someone else was deleted"


def _session_headers(user) -> dict[str, str]:
    from chalicelib.domain.accounts.sessions import start_session

    token = start_session(user).token
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Colony-Mode": "test"}


def test_the_current_sessions_user_is_the_live_accounts_in_test_mode(api, tenants):
    acme, _ = tenants
    headers = _session_headers(acme.member.user)
    answer = api.call("GET", "/sessions/current", None, headers=headers)
    assert answer.status == 200, answer.body
    user = api.call("GET", f"/users/{acme.member.user.id}", None, headers=headers)
    assert user.status == 200 and user.body["test"] is False, user.body
    assert answer.body["test"] is False, f"the live account's session said test: {answer.body}"


def test_an_upload_spelling_an_internationalised_domain_in_unicode_is_deleted_by_the_erasure(
    api, tenants, pump
):
    """The importer reads `ann@exämple.com` as the contact `ann@xn--exmple-cua.com` (addresses keeps an
    IDN domain in punycode); the erasure's address_pattern matches the punycode spelling only, so the
    upload that named the person in Unicode is kept."""
    acme, _ = tenants
    data = "Email,Name\r\nann@exämple.com,Ann\r\nbob@example.com,Bob\r\n".encode()
    job = import_file(api, pump, acme.member, "idn.csv", data)
    assert job["imported"] == 2, job
    record = erase(api, acme, pump, email="ann@exämple.com")
    assert record["counts"]["contacts_removed"] == 1, record
    assert _uploads_holding(acme.id, "ann@ex") == [], "the upload naming the person was kept"
