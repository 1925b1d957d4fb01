"""Email deployments at the edges a review found: free email, SES faster than the status write, a crash
with a free row in flight, values that would smuggle a link into the HTML."""

from __future__ import annotations

import json

from chalicelib.domain.contacts import optouts
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.providers import Permanent
from chalicelib.workers import email_events
from tests.factories import create_contact_list, create_contacts, pending_deployment


def _set_up(api, acme, email_credits):
    settings = {"email_from": "news@acme.co.za", "email_credits": email_credits, "email_send_rate": 1000}
    assert api.patch("/company", acme.admin, settings).status == 200


def test_email_credits_of_zero_make_free_email_and_the_quote_says_so(api, tenants, pump, mail_gateway):
    """email_credits 0 is a price: the quote, the reservation and every email say 0."""
    acme, _ = tenants
    _set_up(api, acme, 0)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    create_contacts(acme.id, contact_list.id, "27820000002", email="bob@example.com")
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi")
    assert api.get(f"/deployments/{deployment.id}/quote", acme.member).body["credits"] == 0
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    assert len(mail_gateway.sent) == 2
    settled = Deployment.get(acme.id, deployment.id)
    assert settled.total_credits == 0 and Company.get(acme.id).credits == 1000
    # each email's own record says it cost what the company charges for an email: 0
    assert [r.segments or 0 for r in Recipient.query(deployment.id)] == [0, 0]
    # and the stored quote's SMS segments are not negative
    quote = api.get(f"/deployments/{deployment.id}/quote", acme.member).body
    assert quote["segments_total"] == 0


def test_the_stored_quote_of_a_settled_email_deployment_keeps_its_quoted_segments(
    api, tenants, pump, mail_gateway
):
    """Once settled, total_credits is what was used; the quote still says what was quoted."""
    acme, _ = tenants
    _set_up(api, acme, 2)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    create_contacts(acme.id, contact_list.id, "27820000002", email="bob@example.com")

    def reject(outgoing, tries):
        if outgoing.to == "bob@example.com":
            raise Permanent("MessageRejected", "Email address is not verified")

    mail_gateway.script = reject
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    assert Deployment.get(acme.id, deployment.id).total_credits == 2
    quote = api.get(f"/deployments/{deployment.id}/quote", acme.member).body
    assert quote["segments_total"] == 0, quote  # an email-only deployment has no SMS segments


def test_a_complaint_about_a_deployment_email_suppresses_the_address(api, tenants, pump, mail_gateway):
    """A complaint about a deployment's email opts the address out: the next marketing deployment
    skips it."""
    acme, _ = tenants
    _set_up(api, acme, 1)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi", marketing=True)
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    (recipient,) = Recipient.query(deployment.id)
    assert recipient.status == "sent" and recipient.provider_id
    complaint = {
        "eventType": "Complaint",
        "mail": {"messageId": recipient.provider_id, "destination": ["ann@example.com"]},
        "complaint": {"complainedRecipients": [{"emailAddress": "ann@example.com"}]},
    }
    email_events.handle(json.dumps(complaint))
    assert optouts.opted_out(acme.id, None, ["ann@example.com"]) == {"ann@example.com"}
    mail_gateway.reset()
    again = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi again", marketing=True)
    assert api.post(f"/deployments/{again.id}/approve", acme.approver).status == 200
    pump.drain()
    assert mail_gateway.sent == []


def test_a_value_in_an_href_cannot_make_a_javascript_link(api, tenants, pump, mail_gateway):
    """A person's value rendered into an href is sanitised with the rest of the HTML once rendered."""
    acme, _ = tenants
    _set_up(api, acme, 1)
    contact_list = create_contact_list(acme.id)
    create_contacts(
        acme.id,
        contact_list.id,
        "27820000001",
        email="ann@example.com",
        fields={"link": "javascript:alert(1)"},
    )
    html = '<p><a href="{{fields.link}}">Your offer</a></p>'
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi", html=html)
    assert "{{fields.link}}" in deployment.html  # nh3 kept the placeholder in the attribute
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    (sent,) = mail_gateway.sent
    assert "javascript:" not in sent.html, sent.html


def test_free_emails_leave_a_failed_sms_refunded_in_a_dispatch_3(api, tenants, pump, gateway, mail_gateway):
    """Dispatch 3 at email_credits 0: reserved 2 (the two SMS); one SMS is rejected and refunded, the
    emails cost nothing, so the company pays 1."""
    acme, _ = tenants
    _set_up(api, acme, 0)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    create_contacts(acme.id, contact_list.id, "27820000002", email="bob@example.com")

    def reject(outgoing, tries):
        if outgoing.to == "27820000002":
            raise Permanent("InvalidNumber", "no such")

    gateway.script = reject
    deployment = pending_deployment(acme, [contact_list.id], dispatch=3, subject="Hi")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    assert Company.get(acme.id).credits == 1000 - 2
    pump.drain()
    assert [s.to for s in gateway.sent] == ["27820000001"] and len(mail_gateway.sent) == 2
    assert Deployment.get(acme.id, deployment.id).total_credits == 1
    assert Company.get(acme.id).credits == 1000 - 1


def test_stats_verify_agrees_for_email_at_every_dispatch(api, tenants, pump, gateway, mail_gateway):
    from chalicelib.domain.stats.verify import verify
    from tests.factories import create_optout

    acme, _ = tenants
    _set_up(api, acme, 2)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    create_contacts(acme.id, contact_list.id, "27820000002")
    create_contacts(acme.id, contact_list.id, "27820000003", email="Out@Example.com")
    assert (
        api.post(
            f"/contact-lists/{contact_list.id}/contacts", acme.member, {"email": "solo@example.com"}
        ).status
        == 201
    )
    optouts.create(acme.id, "out@example.com", None, None, source="api", channel="email")
    create_optout(acme.id, "27820000001")
    for dispatch in (1, 2, 3):
        deployment = pending_deployment(acme, [contact_list.id], dispatch=dispatch, subject="Hi")
        assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
        pump.drain()
        assert Deployment.get(acme.id, deployment.id).status == 4
    assert verify(acme.id) == []


def test_an_ses_event_that_beats_the_status_write_is_applied_by_its_reference(
    api, tenants, pump, mail_gateway, monkeypatch
):
    """SES can report an email before its status and id are written (with the next group's claims):
    the event finds it by its X-Colony-Reference header."""
    acme, _ = tenants
    _set_up(api, acme, 1)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    real_send = type(mail_gateway)._send
    results = []

    def send_then_bounce(self, outgoing):
        message_id = real_send(self, outgoing)
        bounce = {
            "eventType": "Bounce",
            "mail": {
                "messageId": message_id,
                "destination": [outgoing.to],
                "headers": [{"name": "X-Colony-Reference", "value": outgoing.reference}],
            },
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": outgoing.to}],
            },
        }
        results.append(email_events.handle(json.dumps(bounce)))  # SES is fast
        return message_id

    monkeypatch.setattr(type(mail_gateway), "_send", send_then_bounce)
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    assert results == [{"result": "applied"}]
    (recipient,) = Recipient.query(deployment.id)
    assert recipient.status == "failed"


def test_a_crash_with_a_no_address_row_in_flight_fails_it_for_free(api, tenants, mail_gateway, captured):
    """A crash with a group in flight: what may have gone is unknown and charged, a row with no
    address fails for free."""
    import pytest

    from chalicelib import queue_messages
    from chalicelib.domain.deployments import settlement
    from tests.integration.test_sending import Crash
    from tests.sqs_events import run_send_worker

    acme, _ = tenants
    _set_up(api, acme, 2)
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001")  # no address: free
    create_contacts(acme.id, contact_list.id, "27820000002", email="a-rejected@example.com")
    create_contacts(acme.id, contact_list.id, "27820000003", email="b-crash@example.com")

    def script(outgoing, tries):
        if outgoing.to == "a-rejected@example.com":
            raise Permanent("MessageRejected", "Email address is not verified")
        if outgoing.to == "b-crash@example.com":
            mail_gateway.sent.append(outgoing)  # SES took it; the worker dies before writing
            raise Crash

    mail_gateway.script = script
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    assert Company.get(acme.id).credits == 1000 - 4
    run_send_worker(captured.take(queue_messages.FanOut))
    (chunk,) = captured.take(queue_messages.SendChunk)
    with pytest.raises(Crash):
        run_send_worker([chunk])
    settlement.finish(Deployment.get(acme.id, deployment.id))
    rows = {r.msisdn: (r.status, r.segments) for r in Recipient.query(deployment.id)}
    assert rows["b-crash@example.com"] == ("unknown", 2)  # may have gone: charged, as designed
    assert rows["27820000001"][0] == "failed", rows  # it has no address: it cannot have gone
    assert Deployment.get(acme.id, deployment.id).total_credits == 4  # the two in flight, never more
    assert Company.get(acme.id).credits == 1000 - 4
