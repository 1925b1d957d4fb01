"""Test mode: a test key's work runs the whole pipeline in the company's test tenant, through the simulator,
charging nothing and touching nothing live; the magic destinations yield their scripted outcomes."""

from __future__ import annotations

import json

import pytest

from chalicelib import queue_messages
from chalicelib.domain.rules import modes
from chalicelib.domain.sending import sender
from chalicelib.domain.stats import rollup
from chalicelib.models.companies import Company
from tests.api_client import multipart
from tests.factories import Member, Tenant, create_contact_list, create_contacts
from tests.integration.test_callbacks import receiver, subscribe

__all__ = ["receiver"]  # the fixture, shared with test_callbacks
ORDINARY = "27821234567"
MAGIC_CSV = (
    "phone,first_name\n"
    f"{modes.DELIVERED_NUMBER},Dee\n{modes.INVALID_NUMBER},Ivy\n{modes.LATE_NUMBER},Lee\n"
    f"{modes.STOP_NUMBER},Stu\n{ORDINARY},Ann\n"
).encode()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))


@pytest.fixture
def held_back(monkeypatch):
    """Delayed messages are held (their delays kept) instead of queued, until `release()` queues them."""
    real = queue_messages.enqueue_many
    held: list[tuple[int, list]] = []

    def enqueue_many(batch, delay_seconds=0):
        if delay_seconds:
            held.append((delay_seconds, list(batch)))
        else:
            real(batch, 0)

    monkeypatch.setattr(queue_messages, "enqueue_many", enqueue_many)

    class Held:
        delays = property(lambda self: [delay for delay, _ in held])

        def release(self) -> None:
            for _, batch in held:
                real(batch, 0)
            held.clear()

    return Held()


def make_test_key(api, member: Member) -> Member:
    """A test key of `member`'s, made by themselves through the API."""
    answer = api.post("/api-keys", member, {"name": "sandbox", "mode": "test"})
    assert answer.status == 201, answer.body
    assert answer.body["api_key"].startswith("ck_test_") and answer.body["mode"] == "test", answer.body
    return Member(member.user, answer.body["api_key"])


def imported(api, pump, member: Member, csv: bytes) -> dict:
    """The import job of `csv` into a new list "Sandbox", run to its end."""
    body, content_type = multipart({"title": "Sandbox"}, {"file": ("magic.csv", csv)})
    started = api.call(
        "POST", "/contact-lists/import", member, raw=body, headers={"Content-Type": content_type}
    )
    assert started.status == 202, started.body
    pump.drain()
    return api.get(f"/imports/{started.body['id']}", member).body


def statuses(api, member, deployment_id) -> dict[str, tuple[str, str | None]]:
    rows = api.every_page(f"/deployments/{deployment_id}/messages", member)
    return {r["msisdn"]: (r["status"], r["error"]) for r in rows}


def live_view(api, tenant) -> dict:
    """What live keys see of the company: its balance, its stats, its lists and opt-outs."""
    rollup.roll_up()
    return {
        "credits": api.get("/company", tenant.admin).body["credits"],
        "stats": api.get("/stats/daily", tenant.admin).body["results"],
        "lists": api.get("/contact-lists", tenant.admin).body["results"],
        "optouts": api.get("/optouts", tenant.admin).body["results"],
    }


def test_a_deployment_with_test_keys_yields_the_scripted_outcomes_and_touches_nothing_live(
    api, tenants, pump, gateway, held_back
):
    acme, _ = tenants
    before = live_view(api, acme)
    member, approver = make_test_key(api, acme.member), make_test_key(api, acme.approver)

    job = imported(api, pump, member, MAGIC_CSV)
    assert job["status"] == "completed" and job["test"] is True, job
    list_id = job["contact_list"]
    contacts = api.every_page(f"/contact-lists/{list_id}/contacts", member)
    assert sorted(c["msisdn"] for c in contacts) == sorted([*modes.MAGIC_NUMBERS, ORDINARY]), contacts
    assert all(c["test"] is True for c in contacts), contacts

    made = api.post(
        "/deployments",
        member,
        {"title": "Try-out", "message": "Hi {{first_name}}", "contact_lists": [list_id]},
    )
    assert made.status == 201 and made.body["test"] is True, made.body
    deployment_id = made.body["id"]
    quote = api.get(f"/deployments/{deployment_id}/quote", member).body
    assert quote["credits"] == 5, f"a quote still says what the send would cost: {quote}"
    assert api.post(f"/deployments/{deployment_id}/submit", member).status == 200
    approved = api.post(f"/deployments/{deployment_id}/approve", approver)
    assert approved.status == 200, approved.body
    pump.drain()

    assert gateway.sent == [], "a test deployment reached the live gateway"
    assert held_back.delays == [modes.LATE_SECONDS], held_back.delays
    early = statuses(api, member, deployment_id)
    assert early[modes.LATE_NUMBER][0] == "sent", f"the late number was delivered before its delay: {early}"
    held_back.release()
    pump.drain()

    final = statuses(api, member, deployment_id)
    assert final[modes.DELIVERED_NUMBER] == ("delivered", None), final
    assert final[modes.INVALID_NUMBER][0] == "failed" and "INVALID" in final[modes.INVALID_NUMBER][1], final
    assert final[modes.LATE_NUMBER] == ("delivered", None), final
    assert final[modes.STOP_NUMBER] == ("delivered", None), final
    assert final[ORDINARY] == ("delivered", None), final
    optouts = api.get("/optouts", member).body["results"]
    assert [(o["originator"], o["test"]) for o in optouts] == [(modes.STOP_NUMBER, True)], optouts
    deployment = api.get(f"/deployments/{deployment_id}", member).body
    assert deployment["status_name"] == "sent" and deployment["test"] is True, deployment

    rollup.roll_up()
    stats = api.get(f"/deployments/{deployment_id}/stats/daily", member).body["results"]
    assert [(s["sms_sent_count"], s["sms_unsent_count"], s["test"]) for s in stats] == [(4, 1, True)], stats
    company_stats = api.get("/stats/daily", member).body["results"]  # and the STOP's confirmation
    assert [(s["sms_sent_count"], s["sms_unsent_count"]) for s in company_stats] == [(5, 1)], company_stats
    row = api.get(f"/stats/daily/{company_stats[0]['id']}", member)
    assert row.status == 200 and row.body["test"] is True, row.body
    assert api.get(f"/stats/daily/{company_stats[0]['id']}", acme.member).status == 404
    assert Company.get(modes.test_tenant(acme.id)).credits == 0
    assert live_view(api, acme) == before, "test mode changed the live balance, stats, lists or opt-outs"


def test_test_and_live_keys_see_only_their_own_objects(api, tenants):
    acme, bravo = tenants
    acme_test, bravo_test = make_test_key(api, acme.admin), make_test_key(api, bravo.admin)
    sandbox = create_contact_list(acme.id, "Live customers")
    made = api.post("/contact-lists", acme_test, {"title": "Sandbox"})
    assert made.status == 201 and made.body["test"] is True, made.body
    test_list = made.body["id"]

    assert api.get(f"/contact-lists/{sandbox.id}", acme_test).status == 404, "a test key read a live list"
    assert api.get(f"/contact-lists/{test_list}", acme.admin).status == 404, "a live key read a test list"
    assert api.get(f"/contact-lists/{test_list}", bravo_test).status == 404, "another company's test key"
    assert api.get(f"/contact-lists/{test_list}", bravo.admin).status == 404
    assert [x["id"] for x in api.get("/contact-lists", acme_test).body["results"]] == [test_list]
    assert test_list not in [x["id"] for x in api.get("/contact-lists", acme.admin).body["results"]]
    assert api.get("/contact-lists", bravo_test).body["results"] == []
    live = api.get(f"/contact-lists/{sandbox.id}", acme.admin).body
    assert live["test"] is False, live


def test_keys_are_the_live_accounts_and_another_company_cannot_touch_them(api, tenants):
    acme, bravo = tenants
    key = api.post("/api-keys", acme.member, {"mode": "test"}).body
    listed = {k["id"]: k["mode"] for k in api.get("/api-keys", acme.member).body["results"]}
    assert listed[key["id"]] == "test" and "live" in listed.values(), listed
    acme_test = Member(acme.member.user, key["api_key"])
    assert {k["id"] for k in api.get("/api-keys", acme_test).body["results"]} == set(listed)
    assert api.get(f"/users/{acme.member.user.id}", acme_test).status == 200
    assert api.delete(f"/api-keys/{key['id']}", bravo.admin).status == 404
    assert api.delete(f"/api-keys/{key['id']}", make_test_key(api, bravo.admin)).status == 404
    assert api.post("/api-keys", acme.member, {"mode": "sandbox"}).error_code == "invalid_input"
    assert api.delete(f"/api-keys/{key['id']}", acme.member).status == 204
    assert api.get("/company", acme_test).status == 401, "a revoked test key still works"


def test_a_key_mode_cannot_be_contradicted_and_a_session_switches_to_test_mode(api, tenants):
    acme, _ = tenants
    acme_test = make_test_key(api, acme.member)
    refused = api.get("/company", acme_test, headers={"Colony-Mode": "live"})
    assert refused.status == 400 and "Colony-Mode" in refused.body["error"]["fields"], refused.body
    assert api.get("/company", acme.member, headers={"Colony-Mode": "maybe"}).status == 400
    forged = acme_test.api_key.replace("ck_test_", "ck_", 1)
    assert api.get("/company", Member(acme.member.user, forged)).status == 401, "a test key taken as live"

    from chalicelib.domain.accounts.sessions import start_session

    session = start_session(acme.member.user).token
    bearer = {"Authorization": f"Bearer {session}", "Content-Type": "application/json"}
    made = api.call(
        "POST", "/contact-lists", None, {"title": "Sandbox"}, headers={**bearer, "Colony-Mode": "test"}
    )
    assert made.status == 201 and made.body["test"] is True, made.body
    assert api.get(f"/contact-lists/{made.body['id']}", acme_test).status == 200
    assert api.call("GET", f"/contact-lists/{made.body['id']}", None, headers=bearer).status == 404


def test_magic_numbers_are_refused_with_a_live_key(api, tenants, pump):
    acme, _ = tenants
    answer = api.post("/messages/send", acme.member, {"destination": modes.DELIVERED_NUMBER, "message": "Hi"})
    assert answer.status == 400 and "destination" in answer.body["error"]["fields"], answer.body
    sandbox = create_contact_list(acme.id)
    saved = api.post(
        f"/contact-lists/{sandbox.id}/contacts",
        acme.member,
        {"msisdn": modes.STOP_NUMBER, "first_name": "Stu"},
    )
    assert saved.status == 400 and "msisdn" in saved.body["error"]["fields"], saved.body
    body, content_type = multipart({}, {"file": ("magic.csv", MAGIC_CSV)})
    started = api.call(
        "POST", "/contact-lists/import", acme.member, raw=body, headers={"Content-Type": content_type}
    )
    pump.drain()
    job = api.get(f"/imports/{started.body['id']}", acme.member).body
    assert job["test"] is False and job["imported"] == 1, f"only the ordinary number imports live: {job}"


def test_api_messages_and_emails_with_a_test_key(api, tenants, pump, gateway, mail_gateway):
    acme, _ = tenants
    acme_test = make_test_key(api, acme.member)
    changed = api.patch("/company", make_test_key(api, acme.admin), {"email_from": "Acme <news@acme.co.za>"})
    assert changed.status == 200 and changed.body["test"] is True, changed.body
    assert api.get("/company", acme.admin).body["email_from"] is None, "a test tenant's setting reached live"
    credits = api.get("/company", acme.admin).body["credits"]
    sent = {
        number: api.post("/messages/send", acme_test, {"destination": number, "message": "Your code is 1234"})
        for number in (modes.DELIVERED_NUMBER, modes.INVALID_NUMBER, modes.STOP_NUMBER)
    }
    assert all(a.status == 201 and a.body["test"] is True for a in sent.values()), [
        a.body for a in sent.values()
    ]
    email_ids = {}
    for address in (modes.DELIVERED_ADDRESS, modes.BOUNCE_ADDRESS, modes.COMPLAINT_ADDRESS):
        answer = api.post(
            "/emails/send",
            acme_test,
            {"destination": address, "subject": "Hello", "message": "Hi there"},
        )
        assert answer.status == 201 and answer.body["test"] is True, answer.body
        email_ids[address] = answer.body["id"]
    pump.drain()

    assert gateway.sent == [] and mail_gateway.sent == [], "test sends reached a live gateway"
    got = {n: api.get(f"/messages/{a.body['id']}", acme_test).body["status"] for n, a in sent.items()}
    assert got == {
        modes.DELIVERED_NUMBER: "delivered",
        modes.INVALID_NUMBER: "failed",
        modes.STOP_NUMBER: "delivered",
    }, got
    emails = {a: api.get(f"/emails/{i}", acme_test).body["status"] for a, i in email_ids.items()}
    assert emails == {
        modes.DELIVERED_ADDRESS: "delivered",
        modes.BOUNCE_ADDRESS: "failed",
        modes.COMPLAINT_ADDRESS: "delivered",
    }, emails
    suppressed = {o["originator"] for o in api.get("/optouts", acme_test).body["results"]}
    assert suppressed == {modes.STOP_NUMBER, modes.BOUNCE_ADDRESS, modes.COMPLAINT_ADDRESS}, suppressed
    assert api.get(f"/messages/{sent[modes.DELIVERED_NUMBER].body['id']}", acme.member).status == 404
    assert api.get("/company", acme.admin).body["credits"] == credits, "a test send charged live credits"


def test_callbacks_and_reports_of_test_data_say_so_and_stay_out_of_live(api, tenants, pump, receiver):
    acme, _ = tenants
    admin_test, member = make_test_key(api, acme.admin), make_test_key(api, acme.member)
    server = receiver()
    subscribe(api, Tenant(acme.company, admin_test, acme.approver, member), server)
    assert api.get("/company", acme.admin).body["callback_url"] is None, "the test data's URL reached live"
    sandbox = create_contact_list(modes.test_tenant(acme.id), "Sandbox")
    create_contacts(modes.test_tenant(acme.id), sandbox.id, modes.DELIVERED_NUMBER, modes.INVALID_NUMBER)
    made = api.post("/deployments", member, {"title": "Try", "message": "Hi", "contact_lists": [sandbox.id]})
    assert api.post(f"/deployments/{made.body['id']}/submit", member).status == 200
    assert (
        api.post(f"/deployments/{made.body['id']}/approve", make_test_key(api, acme.approver)).status == 200
    )
    pump.drain()

    final = {
        (e["data"]["msisdn"], e["data"]["status"], e["test"], e["company"])
        for e in server.accepted("recipient.status")
    }
    tenant = modes.test_tenant(acme.id)
    assert {
        (modes.DELIVERED_NUMBER, "delivered", True, tenant),
        (modes.INVALID_NUMBER, "failed", True, tenant),
    } <= final
    assert all(r["verified"] for r in server.received), "a test event was not signed with the test secret"
    assert api.get("/callbacks", acme.member).body["results"] == []

    started = api.post(f"/deployments/{made.body['id']}/report", member)
    assert started.status == 202 and started.body["test"] is True, started.body
    pump.drain()
    task = api.get(f"/tasks/{started.body['id']}", member).body
    assert task["status"] == "completed", task
    files = api.get("/filebox", member).body["results"]
    assert [(f["id"], f["test"]) for f in files] == [(task["result"]["file"], True)], files
    assert api.get("/filebox", acme.member).body["results"] == [], "a test report is in the live filebox"
    assert api.get(f"/filebox/{task['result']['file']}", acme.member).status == 404


def test_a_subscribers_real_reply_reaches_the_live_company_alone(api, tenants):
    """The test data copies the live sender and numbers, yet a number is only ever the live company's: a
    STOP a real subscriber sends opts them out in live, never in the test data, and assigning a number
    again leaves the test data's sender as it was."""
    from chalicelib.domain.accounts import sender_numbers
    from chalicelib.workers import sms_events

    acme, _ = tenants
    number = "27830000001"
    sender_numbers.assign(acme.id, number)
    assert api.patch("/company", acme.admin, {"sender_id": number}).status == 200
    acme_test = make_test_key(api, acme.member)
    assert api.get("/company", acme_test).body["sender_id"] == number
    sender_numbers.assign(acme.id, number)
    assert api.get("/company", acme_test).body["sender_id"] == number, "the test data lost its sender"

    body = {"originationNumber": ORDINARY, "destinationNumber": number, "messageBody": "STOP"}
    assert sms_events.handle_inbound(json.dumps(body)) == {"outcomes": {acme.id: "opted_out"}}
    assert [o["originator"] for o in api.get("/optouts", acme.member).body["results"]] == [ORDINARY]
    assert api.get("/optouts", acme_test).body["results"] == [], "a real reply reached the test data"


def test_the_test_data_starts_without_the_live_callbacks_so_no_test_event_reaches_live(
    api, tenants, pump, receiver
):
    acme, _ = tenants
    live_server = receiver()
    subscribe(api, acme, live_server)  # live subscribes before the test data is first opened
    member = make_test_key(api, acme.member)
    opened = api.get("/company", make_test_key(api, acme.admin)).body
    assert (opened["callback_url"], opened["test"]) == (None, True), opened
    sent = api.post("/messages/send", member, {"message": "Hi", "destination": modes.DELIVERED_NUMBER})
    assert sent.status == 201, sent.body
    pump.drain()
    assert live_server.received == [], "a test event reached the live company's callback URL"
