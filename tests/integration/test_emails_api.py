"""Transactional and marketing email through the API: paid once, sent once (through redelivery,
throttling and rejections), opted out by one click, counted in the email columns, and tenant-scoped."""

from __future__ import annotations

import email
import email.policy

import pytest

from chalicelib import queue_messages
from chalicelib.domain.contacts import unsubscribes
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from chalicelib.models.optouts import OptOut
from chalicelib.providers import Permanent, Retryable
from tests.sqs_events import run_send_worker

ANN = "ann@example.com"


@pytest.fixture
def acme(api, tenants):
    acme, _ = tenants
    answer = api.patch(
        "/company", acme.admin, {"email_from": "Acme News <news@acme.co.za>", "email_credits": 2}
    )
    assert answer.status == 200 and answer.body["email_from"] == "Acme News <news@acme.co.za>"
    return acme


def send(api, member, **fields):
    body = {"destination": ANN, "subject": "Your receipt", "message": "Thanks for your order.", **fields}
    return api.post("/emails/send", member, body)


def test_an_email_is_paid_for_sent_once_and_readable(api, acme, pump, mail_gateway, gateway):
    answer = send(api, acme.member, html="<p>Thanks <script>alert(1)</script><b>Ann</b></p>")
    assert answer.status == 201
    assert {k: answer.body[k] for k in ("destination", "subject", "status", "credits")} == {
        "destination": ANN,
        "subject": "Your receipt",
        "status": "queued",
        "credits": 2,
    }
    assert Company.get(acme.id).credits == 998
    pump.drain()
    (sent,) = mail_gateway.sent
    assert (sent.to, sent.sender, sent.sender_name, sent.subject) == (
        ANN,
        "news@acme.co.za",
        "Acme News",
        "Your receipt",
    )
    assert "<script>" not in sent.html and "<b>Ann</b>" in sent.html
    assert sent.unsubscribe_url is None and gateway.sent == []
    read = api.get(f"/emails/{answer.body['id']}", acme.member).body
    assert read["status"] == "sent" and read["provider_id"].startswith("fake-")
    (row,) = api.get("/stats/hourly", acme.member).body["results"]
    assert (row["email_sent_count"], row["sms_sent_count"], row["total"]) == (1, 0, 1)


def test_email_needs_an_email_from_first(api, tenants):
    acme, _ = tenants
    answer = send(api, acme.member)
    assert answer.status == 409 and answer.error_code == "email_not_set_up"
    assert Company.get(acme.id).credits == 1000


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"destination": "not-an-address"}, "destination"),
        ({"destination": "a@b"}, "destination"),
        ({"subject": "  "}, "subject"),
        ({"subject": "one\nBcc: everyone@example.com"}, "subject"),
        ({"message": " "}, "message"),
        ({"campaign_pk": 99}, "campaign_pk"),
    ],
)
def test_bad_emails_are_400_by_field_and_cost_nothing(api, acme, fields, field):
    answer = send(api, acme.member, **fields)
    assert answer.status == 400 and field in answer.body["error"]["fields"]
    assert Company.get(acme.id).credits == 1000
    assert list(Message.query(acme.id)) == []


def test_emails_and_sms_are_404_across_channels_and_companies(api, acme, tenants):
    _, bravo = tenants
    mail = send(api, acme.member).body
    sms = api.post("/messages/send", acme.member, {"message": "Hi", "destination": "0815854565"}).body
    assert api.get(f"/emails/{mail['id']}", bravo.member).status == 404
    assert api.get(f"/messages/{mail['id']}", acme.member).status == 404
    assert api.get(f"/emails/{sms['id']}", acme.member).status == 404
    assert api.get("/emails/not-an-id", acme.member).status == 404  # as every id that cannot exist
    listed = api.get("/messages", acme.member).body["results"]
    assert [m["id"] for m in listed] == [sms["id"]]
    second = send(api, acme.member, subject="Second").body
    emails = api.get("/emails", acme.member).body["results"]
    assert [e["id"] for e in emails] == [second["id"], mail["id"]]
    assert api.get("/emails", bravo.member).body["results"] == []


def test_a_redelivered_email_is_sent_once(api, acme, mail_gateway, captured):
    send(api, acme.member)
    (batch_of,) = captured.take(queue_messages.SendMessages)
    for attempt in (1, 2, 3):
        run_send_worker([batch_of], attempt=attempt)
    assert len(mail_gateway.sent) == 1
    assert Company.get(acme.id).credits == 998


def test_throttling_then_recovery_sends_once_and_a_rejection_refunds(api, acme, pump, mail_gateway):
    def script(outgoing, tries):
        if outgoing.to == ANN and tries < 3:
            raise Retryable("TooManyRequestsException", "slow down")
        if outgoing.to == "bounce@example.com":
            raise Permanent("MessageRejected", "Email address is not verified")

    mail_gateway.script = script
    kept = send(api, acme.member).body
    refused = send(api, acme.member, destination="bounce@example.com").body
    pump.drain()
    assert [s.to for s in mail_gateway.sent] == [ANN]
    assert Message.get(acme.id, kept["id"]).status == "sent"
    failed = Message.get(acme.id, refused["id"])
    assert failed.status == "failed" and failed.error.startswith("MessageRejected")
    assert Company.get(acme.id).credits == 1000 - 2
    (row,) = api.get("/stats/hourly", acme.member).body["results"]
    assert (row["email_sent_count"], row["email_unsent_count"]) == (1, 1)


def test_one_click_unsubscribe_stops_the_next_marketing_email_and_nothing_else(api, acme, pump, mail_gateway):
    send(api, acme.member, marketing=True, subject="Summer sale", message="50% off")
    pump.drain()
    (first,) = mail_gateway.sent
    assert first.unsubscribe_url and first.unsubscribe_url in first.text
    message = email.message_from_bytes(first.mime().as_bytes(), policy=email.policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = first.unsubscribe_url.split("://", 1)[1].split("/", 1)[1]
    page = api.call("GET", f"/{path}")
    assert page.status == 200 and ANN in page.text
    assert list(OptOut.query(acme.id)) == []  # looking at the page changes nothing
    clicked = api.call(
        "POST",
        f"/{path}",
        raw="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert clicked.status == 200
    assert api.call("POST", f"/{path}", raw="").status == 200  # a second click finds it done
    (optout,) = OptOut.query(acme.id)
    assert (optout.channel, optout.originator, optout.reason, optout.source) == (
        "email",
        ANN,
        "unsubscribed",
        "unsubscribe_link",
    )
    mail_gateway.reset()
    blocked = send(api, acme.member, marketing=True, subject="Another sale", message="60% off").body
    receipt = send(api, acme.member).body
    sms = api.post(
        "/messages/send", acme.member, {"message": "Sale", "destination": "0815854565", "marketing": True}
    ).body
    pump.drain()
    assert [(s.to, s.subject) for s in mail_gateway.sent] == [(ANN, "Your receipt")]
    assert Message.get(acme.id, blocked["id"]).status == "opted_out"
    assert Message.get(acme.id, receipt["id"]).status == "sent"
    assert Message.get(acme.id, sms["id"]).status == "sent"
    assert Company.get(acme.id).credits == 1000 - 2 * 2 - 1  # the blocked email's credits came back


def test_a_forged_or_foreign_unsubscribe_token_is_404(api, acme, tenants):
    _, bravo = tenants
    token = unsubscribes.token_for(Company.get(acme.id), ANN)
    payload, mac = token.split(".")
    forged = unsubscribes.token_for(Company.get(bravo.id), ANN).split(".")[0] + "." + mac
    for bad in (forged, payload + ".AAAA", "nonsense", f"{payload}.{mac}x"):
        assert api.call("POST", f"/unsubscribe/{bad}", raw="").status == 404, bad
        assert api.call("GET", f"/unsubscribe/{bad}").status == 404, bad
    assert list(OptOut.query(acme.id)) == [] and list(OptOut.query(bravo.id)) == []


def test_marketing_email_waits_for_permitted_hours(api, acme, pump, mail_gateway, at_time, queue_delays):
    at_time("2026-11-26T21:00:00+02:00")
    answer = send(api, acme.member, marketing=True)
    pump.pump.deliver(next(q for q in pump.pump.queues if q.name == "send_worker"))
    assert mail_gateway.sent == [] and queue_delays[-1] == 900
    at_time("2026-11-27T08:30:00+02:00")
    pump.drain()
    assert api.get(f"/emails/{answer.body['id']}", acme.member).body["status"] == "sent"


def test_company_email_settings_are_checked(api, tenants):
    acme, _ = tenants
    for body, field in (
        ({"email_from": "nobody"}, "email_from"),
        ({"email_reply_to": "a@b"}, "email_reply_to"),
        ({"email_credits": -1}, "email_credits"),
        ({"email_send_rate": 0}, "email_send_rate"),
    ):
        answer = api.patch("/company", acme.admin, body)
        assert answer.status == 400 and field in answer.body["error"]["fields"], body
    assert api.patch("/company", acme.member, {"email_from": "news@acme.co.za"}).status == 403
    assert Company.get(acme.id).email_from is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject": "=?utf-8?b?U2FsZQ0KQmNjOiB4QHkuY29t?="}, "subject"),  # "Sale\r\nBcc: x@y.com"
        ({"subject": "Sale\u2028Bcc: x@y.com"}, "subject"),
        ({"subject": "Sale\x85now"}, "subject"),
        ({"destination": "=?utf-8?q?a=0D=0ABcc=3A_x?=@example.com"}, "destination"),
        ({"destination": "ännä@example.com"}, "destination"),
        ({"html": "&" * 150_000}, "message"),
    ],
)
def test_what_would_inject_headers_or_never_fit_is_refused_before_payment(api, acme, fields, field):
    answer = send(api, acme.member, **fields)
    assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body
    assert Company.get(acme.id).credits == 1000


def test_an_email_from_with_an_internationalised_domain_goes_out_in_punycode(api, tenants):
    acme, _ = tenants
    answer = api.patch("/company", acme.admin, {"email_from": "Acme <news@bücher.example>"})
    assert answer.status == 200 and answer.body["email_from"] == "Acme <news@xn--bcher-kva.example>"
    for garbage in ("someone@else.example, news@acme.co.za", "news@acme.co.za <n@other.example>"):
        assert api.patch("/company", acme.admin, {"email_from": garbage}).status == 400, garbage


def test_an_sms_receipt_never_settles_an_email(api, acme, pump, mail_gateway):
    answer = send(api, acme.member).body
    pump.drain()
    receipt = {"reference": f"m{acme.id}:{answer['id']}", "status": "UNDELIVERED"}
    token = Company.get(acme.id).webhook_token
    posted = api.post(f"/webhooks/status/{token}", None, receipt)
    assert posted.body["unknown"] == 1
    assert Message.get(acme.id, answer["id"]).status == "sent"


def test_a_deployed_stage_without_a_public_url_sends_no_marketing_email_with_a_dead_link(acme, monkeypatch):
    from chalicelib.settings import SettingsError

    company = Company.get(acme.id)
    monkeypatch.setenv("COLONY_STAGE", "prod")
    monkeypatch.delenv("COLONY_PUBLIC_URL", raising=False)
    with pytest.raises(SettingsError, match="COLONY_PUBLIC_URL"):
        unsubscribes.link_for(company, ANN)
    monkeypatch.setenv("COLONY_PUBLIC_URL", "https://colony.example.com/")
    assert unsubscribes.link_for(company, ANN).startswith("https://colony.example.com/unsubscribe/")
