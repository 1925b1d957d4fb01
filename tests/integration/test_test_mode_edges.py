"""Test mode at its edges: a test key never reaches live credits, keys, numbers or data, and what it
makes says it is test data."""

from __future__ import annotations

import pytest

from chalicelib.domain.rules import modes
from chalicelib.domain.sending import sender
from chalicelib.models.companies import Company
from tests.factories import Member, create_contact_list, create_contacts, create_optout
from tests.integration.test_limits import request_limit
from tests.integration.test_test_mode import imported, make_test_key

__all__ = ["request_limit"]  # the fixture, shared with test_limits


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))


def test_a_test_key_cannot_mint_a_live_key_and_spend_live_credits(api, tenants, pump, gateway):
    acme, _ = tenants
    acme_test = make_test_key(api, acme.member)
    before = api.get("/company", acme.admin).body["credits"]
    minted = api.post("/api-keys", acme_test, {"name": "escalated"})
    if minted.status == 201:
        live = Member(acme.member.user, minted.body["api_key"])
        api.post("/messages/send", live, {"destination": "27821234567", "message": "Hi"})
        pump.drain()
    spent = before - api.get("/company", acme.admin).body["credits"]
    assert (spent, gateway.sent) == (0, []), (
        f"a test key's minted key spent {spent} live credits, sent {gateway.sent}"
    )


def test_a_test_key_cannot_ask_for_a_live_key_explicitly(api, tenants):
    acme, _ = tenants
    admin_test = make_test_key(api, acme.admin)
    minted = api.post("/api-keys", admin_test, {"name": "escalated", "mode": "live"})
    assert minted.status in (400, 403), f"a test key minted a live key: {minted.status} {minted.body}"


def test_a_headerless_csv_of_magic_numbers_imports_in_test_mode(api, tenants, pump):
    acme, _ = tenants
    member = make_test_key(api, acme.member)
    csv = f"{modes.DELIVERED_NUMBER}\n{modes.INVALID_NUMBER}\n".encode()
    job = imported(api, pump, member, csv)
    assert job["status"] == "completed" and job["imported"] == 2, (job["status"], job.get("error"))


def test_test_keys_share_the_companys_request_limit(api, tenants, at_time, request_limit):
    acme, _ = tenants
    at_time("2026-11-26T10:00:00+02:00")
    admin_test = make_test_key(api, acme.admin)  # one call of the company's
    at_time("2026-11-26T10:01:00+02:00")
    for member in (acme.member, acme.admin, acme.member):
        assert api.get("/company", member).status == 200
    assert api.get("/company", acme.admin).status == 429
    answer = api.get("/company", admin_test)
    assert answer.status == 429, f"a test key got past the company's spent request limit: {answer.status}"


def test_a_live_key_object_is_not_marked_test_to_a_test_key(api, tenants):
    acme, _ = tenants
    admin_test = make_test_key(api, acme.admin)
    keys = api.get("/api-keys", admin_test).body["results"]
    live = [(k["mode"], k["test"]) for k in keys if k["mode"] == "live"]
    assert live and all(test is False for _, test in live), f"a live key said test: {live}"


def _cli(capsys, *argv):
    from chalicelib import cli

    try:
        code = cli.main(["--stage", "test", *argv])
    except SystemExit as usage_error:  # argparse refused the arguments
        code = usage_error.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("environment_kept")
def test_the_operators_company_list_is_the_live_companies(api, tenants, capsys):
    acme, bravo = tenants
    make_test_key(api, acme.member)
    code, out, _ = _cli(capsys, "company", "list")
    import json

    ids = [c["id"] for c in json.loads(out)["companies"]]
    assert code == 0 and ids == sorted([acme.id, bravo.id]), f"the operator's list holds test data: {ids}"


@pytest.mark.usefixtures("environment_kept")
def test_the_operator_cannot_top_up_a_test_tenant(api, tenants, capsys):
    acme, _ = tenants
    make_test_key(api, acme.member)
    code, _, _ = _cli(capsys, "credits", "add", "--company", str(-acme.id), "--amount", "500")
    balance = Company.get(modes.test_tenant(acme.id)).credits
    assert code != 0 and balance == 0, f"a test tenant was topped up: exit {code}, balance {balance}"


def test_the_test_data_starts_with_no_credits_used_today(api, tenants, pump):
    acme, _ = tenants
    sent = api.post("/messages/send", acme.member, {"destination": "27821234567", "message": "Hi"})
    assert sent.status == 201, sent.body
    assert api.get("/company", acme.admin).body["credits_used_today"] == 1
    admin_test = make_test_key(api, acme.admin)
    shown = api.get("/company", admin_test).body
    assert shown["credits_used_today"] == 0, f"the test data shows live spend: {shown['credits_used_today']}"


def test_a_test_emails_unsubscribe_link_works(api, tenants):
    from chalicelib.domain.accounts.test_tenants import open_test_tenant
    from chalicelib.domain.contacts import unsubscribes

    acme, _ = tenants
    admin_test = make_test_key(api, acme.admin)
    tenant = open_test_tenant(acme.id)
    token = unsubscribes.token_for(tenant, modes.DELIVERED_ADDRESS)
    page = api.call("GET", f"/unsubscribe/{token}", None)
    assert page.status == 200, f"a test email's unsubscribe link is {page.status}"
    done = api.call(
        "POST",
        f"/unsubscribe/{token}",
        None,
        raw=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status == 200, done.body
    optouts = api.get("/optouts", admin_test).body["results"]
    assert [o["originator"] for o in optouts] == [modes.DELIVERED_ADDRESS], optouts


def test_a_number_assigned_after_the_test_data_opened_is_its_sender_too(api, tenants):
    from chalicelib.domain.accounts import sender_numbers

    acme, _ = tenants
    admin_test = make_test_key(api, acme.admin)
    sender_numbers.assign(acme.id, "27830000002")
    assert api.patch("/company", acme.admin, {"sender_id": "27830000002"}).status == 200
    answer = api.patch("/company", admin_test, {"sender_id": "27830000002"})
    assert answer.status == 200, f"the company's own number is refused in test mode: {answer.body}"


def test_an_erasure_started_with_a_test_key_says_test(api, tenants):
    acme, _ = tenants
    admin_test = make_test_key(api, acme.admin)
    started = api.post("/erasures", admin_test, {"msisdn": "27815854565"})
    assert started.status == 202, started.body
    got = (started.body["erasure"].get("test"), started.body["task"].get("test"))
    assert got == (True, True), f"the erasure and its task say test {got}"


@pytest.mark.usefixtures("environment_kept")
def test_the_operator_cannot_give_a_real_number_to_a_test_tenant(api, tenants, capsys):
    import json

    from chalicelib.workers import sms_events

    acme, _ = tenants
    make_test_key(api, acme.member)
    code, _, _ = _cli(capsys, "sender", "add", "--company", str(-acme.id), "--number", "27830000003")
    body = {"originationNumber": "27821234567", "destinationNumber": "27830000003", "messageBody": "STOP"}
    outcome = sms_events.handle_inbound(json.dumps(body))
    assert code != 0 and modes.test_tenant(acme.id) not in outcome.get("outcomes", {}), (
        f"the test data owns a real number: exit {code}, a real reply went to {outcome}"
    )


def test_a_test_key_erases_a_magic_number_of_its_test_data(api, tenants, pump):
    acme, _ = tenants
    admin_test = make_test_key(api, acme.admin)
    tenant = modes.test_tenant(acme.id)
    sandbox = create_contact_list(tenant, "Sandbox")
    create_contacts(tenant, sandbox.id, modes.STOP_NUMBER)
    started = api.post("/erasures", admin_test, {"msisdn": modes.STOP_NUMBER})
    assert started.status == 202, (
        f"a test key could not erase a magic number: {started.status} {started.body}"
    )
    pump.drain()
    assert api.every_page(f"/contact-lists/{sandbox.id}/contacts", admin_test) == []


def test_a_test_key_erases_a_simulator_address_of_its_test_data(api, tenants):
    acme, _ = tenants
    admin_test = make_test_key(api, acme.admin)
    created = api.post("/optouts", admin_test, {"originator": modes.BOUNCE_ADDRESS, "channel": "email"})
    assert created.status == 201, created.body
    started = api.post("/erasures", admin_test, {"email": modes.BOUNCE_ADDRESS})
    assert started.status == 202, (
        f"a test key could not erase a .test address: {started.status} {started.body}"
    )


def test_a_live_erasure_also_erases_the_person_from_the_test_data(api, tenants, pump):
    acme, _ = tenants
    number = "27815854565"
    tenant = modes.test_tenant(acme.id)
    make_test_key(api, acme.admin)  # the test data is opened
    sandbox = create_contact_list(tenant, "Sandbox")
    create_contacts(tenant, sandbox.id, number)
    create_optout(tenant, number)
    started = api.post("/erasures", acme.admin, {"msisdn": number})
    assert started.status == 202, started.body
    pump.drain()
    admin_test = make_test_key(api, acme.admin)
    contacts = api.every_page(f"/contact-lists/{sandbox.id}/contacts", admin_test)
    optouts = api.get("/optouts", admin_test).body["results"]
    named = [o["originator"] for o in optouts if o["originator"] == number]
    assert ([c["msisdn"] for c in contacts], named) == ([], []), (
        f"the erased person is still in the test data: {contacts} {optouts}"
    )
