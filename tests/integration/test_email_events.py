"""SES events through the email-events topic: deliveries, bounces and complaints applied order-free to
the email they are about; a permanent bounce and a complaint suppress the address."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.contacts import optouts
from chalicelib.models.deployments import Message
from chalicelib.models.optouts import OptOut
from chalicelib.workers import email_events

ANN = "ann@example.com"


@pytest.fixture
def sent_email(api, tenants, pump, mail_gateway):
    acme, _ = tenants
    assert api.patch("/company", acme.admin, {"email_from": "news@acme.co.za"}).status == 200
    answer = api.post("/emails/send", acme.member, {"destination": ANN, "subject": "Hi", "message": "Hello"})
    pump.drain()
    email = Message.get(acme.id, answer.body["id"])
    assert email.status == "sent" and email.provider_id
    return acme, email


def ses_event(kind: str, message_id: str, **detail) -> str:
    return json.dumps({"eventType": kind, "mail": {"messageId": message_id, "destination": [ANN]}, **detail})


def bounce(message_id: str, bounce_type: str = "Permanent") -> str:
    return ses_event(
        "Bounce",
        message_id,
        bounce={
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": ANN, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
        },
    )


def test_a_delivery_marks_the_email_delivered_once(sent_email, api):
    acme, email = sent_email
    assert email_events.handle(ses_event("Delivery", email.provider_id)) == {"result": "applied"}
    assert email_events.handle(ses_event("Delivery", email.provider_id)) == {"result": "unchanged"}
    read = api.get(f"/emails/{email.id}", acme.member).body
    assert read["status"] == "delivered" and read["date_delivered"]


def test_a_permanent_bounce_fails_the_email_and_suppresses_the_address(sent_email, api):
    acme, email = sent_email
    assert email_events.handle(bounce(email.provider_id)) == {"result": "applied"}
    failed = Message.get(acme.id, email.id)
    assert failed.status == "failed"
    assert failed.error == "Bounce: Permanent General smtp; 550 5.1.1 user unknown"
    (optout,) = OptOut.query(acme.id)
    assert (optout.channel, optout.originator, optout.reason, optout.source) == (
        "email",
        ANN,
        "bounced",
        "ses",
    )
    assert optouts.opted_out(acme.id, None, [ANN]) == {ANN}
    (row,) = api.get("/stats/hourly", acme.member).body["results"]
    assert (row["email_sent_count"], row["email_unsent_count"]) == (0, 1)


def test_a_transient_bounce_fails_the_email_but_suppresses_nothing(sent_email):
    acme, email = sent_email
    email_events.handle(bounce(email.provider_id, bounce_type="Transient"))
    assert Message.get(acme.id, email.id).status == "failed"
    assert list(OptOut.query(acme.id)) == []


def test_a_complaint_suppresses_the_address_and_a_late_delivery_still_wins_over_a_bounce(sent_email):
    acme, email = sent_email
    complaint = ses_event(
        "Complaint", email.provider_id, complaint={"complainedRecipients": [{"emailAddress": ANN}]}
    )
    email_events.handle(complaint)
    email_events.handle(bounce(email.provider_id))
    email_events.handle(complaint)
    assert Message.get(acme.id, email.id).status == "delivered"
    (optout,) = OptOut.query(acme.id)  # the bounce found the address already suppressed
    assert optout.reason == "complained"


def test_an_event_for_no_email_of_ours_or_not_understood_changes_nothing(sent_email):
    acme, email = sent_email
    assert email_events.handle(ses_event("Delivery", "not-ours")) == {"result": "unknown"}
    assert email_events.handle("not json") == {"dropped": 1}
    assert email_events.handle(json.dumps({"eventType": "Delivery"})) == {"dropped": 1}
    assert email_events.handle(ses_event("Open", email.provider_id)) == {"result": "ignored"}
    assert Message.get(acme.id, email.id).status == "sent"


def test_events_about_a_deployments_email_move_its_recipient_and_a_bounce_suppresses(
    api, tenants, pump, mail_gateway
):
    from chalicelib.models.deployments import Recipient
    from tests.factories import create_contact_list, create_contacts, pending_deployment

    acme, _ = tenants
    assert api.patch("/company", acme.admin, {"email_from": "news@acme.co.za"}).status == 200
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email=ANN)
    create_contacts(acme.id, contact_list.id, "27820000002", email="bob@example.com")
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="News")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    ann = Recipient.get(deployment.id, ANN)
    bob = Recipient.get(deployment.id, "bob@example.com")
    assert email_events.handle(bounce(ann.provider_id)) == {"result": "applied"}
    assert email_events.handle(ses_event("Delivery", bob.provider_id)) == {"result": "applied"}
    assert Recipient.get(deployment.id, ANN).status == "failed"
    delivered = Recipient.get(deployment.id, "bob@example.com")
    assert delivered.status == "delivered" and delivered.date_delivered is not None
    assert optouts.opted_out(acme.id, None, [ANN, "bob@example.com"]) == {ANN}
    (row,) = api.get(f"/deployments/{deployment.id}/stats/hourly", acme.member).body["results"]
    assert (row["email_sent_count"], row["email_unsent_count"]) == (1, 1)
