"""Deployments by email (`dispatch` 2) and by both channels (3): the same audience, approval, credits,
claims, opt-outs and stats as SMS, with the faults SMS is tested under."""

from __future__ import annotations

import collections
import email
import email.policy

import pytest

from chalicelib import queue_messages
from chalicelib.domain.deployments import fanout, settlement
from chalicelib.domain.sending import sender
from chalicelib.domain.stats.verify import verify
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.providers import Permanent, Retryable
from tests.factories import create_contact_list, create_contacts, create_optout, pending_deployment
from tests.integration.test_sending import Crash, two_workers_at_once
from tests.sqs_events import run_send_worker

PEOPLE = [(f"2782{n:07d}", f"person{n}@example.com") for n in range(60)]  # one chunk, two groups
SUBJECT = "Summer sale for {{first_name}}"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))


@pytest.fixture
def acme(api, tenants):
    acme, _ = tenants
    settings = {"email_from": "Acme News <news@acme.co.za>", "email_credits": 2, "email_send_rate": 1000}
    answer = api.patch("/company", acme.admin, settings)
    assert answer.status == 200
    return acme


@pytest.fixture
def subscribers(acme):
    """A list of 60 people, each with a number and an address."""
    contact_list = create_contact_list(acme.id)
    for number, address in PEOPLE:
        create_contacts(acme.id, contact_list.id, number, first_name="Ann", email=address)
    return contact_list


def approve(api, tenant, contact_list, dispatch=2, **fields):
    deployment = pending_deployment(tenant, [contact_list.id], dispatch=dispatch, subject=SUBJECT, **fields)
    answer = api.post(f"/deployments/{deployment.id}/approve", tenant.approver)
    assert answer.status == 200, answer.body
    return deployment.id


def statuses(deployment_id):
    return collections.Counter(r.status for r in Recipient.query(deployment_id))


def emailed(mail_gateway):
    return collections.Counter(sent.to for sent in mail_gateway.sent)


def hour_row(api, member):
    (row,) = api.get("/stats/hourly", member).body["results"]
    return row


def test_dispatch_3_to_three_contacts_sends_two_sms_and_two_emails_for_exactly_the_quote(
    api, acme, pump, gateway, mail_gateway
):
    contact_list = create_contact_list(acme.id)
    for body in (
        {"msisdn": "27820000001", "first_name": "Nora"},  # number only
        {"email": "Ann@Example.com", "first_name": "Ann"},  # address only
        {"msisdn": "27820000002", "email": "bob@example.com", "first_name": "Bob"},  # both
    ):
        assert api.post(f"/contact-lists/{contact_list.id}/contacts", acme.member, body).status == 201
    listed = api.get(f"/contact-lists/{contact_list.id}/contacts", acme.member).body["results"]
    assert sorted((c["msisdn"], c["email"]) for c in listed if c["msisdn"] is None) == [
        (None, "Ann@example.com")
    ]
    deployment = pending_deployment(acme, [contact_list.id], dispatch=3, subject=SUBJECT, html="<p>Hi</p>")
    quote = api.get(f"/deployments/{deployment.id}/quote", acme.member).body
    assert {k: quote[k] for k in ("recipients", "segments_total", "emails", "unreachable", "credits")} == {
        "recipients": 4,
        "segments_total": 2,
        "emails": 2,
        "unreachable": 0,
        "credits": 2 + 2 * 2,
    }
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    assert Company.get(acme.id).credits == 1000 - 6
    pump.drain()
    assert sorted(sms.to for sms in gateway.sent) == ["27820000001", "27820000002"]
    assert sorted((m.to, m.subject) for m in mail_gateway.sent) == [
        ("Ann@example.com", "Summer sale for Ann"),
        ("bob@example.com", "Summer sale for Bob"),
    ]
    settled = Deployment.get(acme.id, deployment.id)
    assert (settled.status, settled.sent_count, settled.total_credits) == (4, 4, 6)
    assert Company.get(acme.id).credits == 1000 - 6
    row = hour_row(api, acme.member)
    assert (row["sms_sent_count"], row["email_sent_count"], row["total"]) == (2, 2, 4)
    rows = api.get(f"/deployments/{deployment.id}/messages", acme.member).body["results"]
    assert sorted((r["channel"], r["msisdn"] or "", r["email"] or "", r["status"]) for r in rows) == [
        ("email", "", "Ann@example.com", "sent"),
        ("email", "27820000002", "bob@example.com", "sent"),
        ("sms", "27820000001", "", "sent"),
        ("sms", "27820000002", "bob@example.com", "sent"),
    ]


def test_a_marketing_email_carries_the_one_click_headers_and_its_footer(
    api, acme, subscribers, pump, mail_gateway
):
    approve(api, acme, subscribers, html="<p>Hello {{first_name}}</p>")
    pump.drain()
    assert len(mail_gateway.sent) == len(PEOPLE) and set(emailed(mail_gateway).values()) == {1}
    first = mail_gateway.sent[0]
    message = email.message_from_bytes(first.mime().as_bytes(), policy=email.policy.default)
    assert message["List-Unsubscribe"] == f"<{first.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first.unsubscribe_url in first.text and first.unsubscribe_url in first.html
    assert first.text.startswith("Hello Ann") and "<p>Hello Ann</p>" in first.html
    assert first.reference.startswith("d") and first.reference.endswith(first.to)


def test_a_recipient_without_an_address_fails_for_free_and_counts_as_email_unsent(
    api, acme, pump, gateway, mail_gateway
):
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001")
    create_contacts(acme.id, contact_list.id, "27820000002", email="bob@example.com")
    deployment = pending_deployment(acme, [contact_list.id], dispatch=2, subject="Hi")
    quote = api.get(f"/deployments/{deployment.id}/quote", acme.member).body
    assert (quote["emails"], quote["unreachable"], quote["credits"]) == (1, 1, 2)
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    assert [m.to for m in mail_gateway.sent] == ["bob@example.com"] and gateway.sent == []
    failed = [r for r in Recipient.query(deployment.id) if r.status == "failed"]
    assert [(r.msisdn, r.channel, r.error, r.segments) for r in failed] == [
        ("27820000001", "email", "no_address", None)
    ]
    assert Deployment.get(acme.id, deployment.id).total_credits == 2
    assert Company.get(acme.id).credits == 1000 - 2
    row = hour_row(api, acme.member)
    assert (row["email_sent_count"], row["email_unsent_count"], row["sms_unsent_count"]) == (1, 1, 0)
    assert verify(acme.id) == []


def test_an_address_shared_by_two_people_is_emailed_once(api, acme, pump, mail_gateway):
    first, second = create_contact_list(acme.id), create_contact_list(acme.id, "Staff")
    create_contacts(acme.id, first.id, "27820000001", email="team@example.com")
    create_contacts(acme.id, second.id, "27820000002", email="Team@example.com")
    deployment = pending_deployment(acme, [first.id, second.id], dispatch=2, subject="Hi")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    assert [m.to for m in mail_gateway.sent] == ["team@example.com"]
    assert Deployment.get(acme.id, deployment.id).total_credits == 2


def test_an_email_deployment_needs_a_subject_and_an_email_from(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    made = api.post(
        "/deployments",
        acme.member,
        {"title": "Sale", "message": "Hi", "contact_lists": [contact_list.id], "dispatch": 2},
    ).body
    submitted = api.post(f"/deployments/{made['id']}/submit", acme.member)
    assert submitted.status == 400 and "subject" in submitted.body["error"]["fields"]
    assert api.patch(f"/deployments/{made['id']}", acme.member, {"subject": "Sale"}).body["subject"] == "Sale"
    assert api.post(f"/deployments/{made['id']}/submit", acme.member).status == 200
    refused = api.post(f"/deployments/{made['id']}/approve", acme.approver)
    assert refused.status == 409 and refused.body["error"]["code"] == "email_not_set_up"
    assert Company.get(acme.id).credits == 1000 and list(Recipient.query(made["id"])) == []


def test_html_is_sanitised_and_personal_values_are_escaped_into_it(api, acme, pump, mail_gateway):
    contact_list = create_contact_list(acme.id)
    hostile = {"city": "<script>alert(1)</script>"}
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com", fields=hostile)
    html = '<p onclick="steal()">From {{fields.city}}</p><script>alert(2)</script>'
    deployment = pending_deployment(
        acme, [contact_list.id], dispatch=2, subject="News\u00a0{{fields.city}}", html=html
    )
    assert "onclick" not in deployment.html and "<script>" not in deployment.html
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    (sent,) = mail_gateway.sent
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sent.html and "<script>" not in sent.html
    assert "\n" not in sent.subject


def test_an_unsubscribe_stops_the_next_marketing_email_and_not_the_sms(
    api, acme, pump, gateway, mail_gateway
):
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com", first_name="Ann")
    approve(api, acme, contact_list)
    pump.drain()
    (first,) = mail_gateway.sent
    path = first.unsubscribe_url.split("://", 1)[1].split("/", 1)[1]
    assert api.call("POST", f"/{path}", raw="List-Unsubscribe=One-Click").status == 200
    mail_gateway.reset()
    second = approve(api, acme, contact_list, dispatch=3)
    assert Deployment.get(acme.id, second).total_credits == 1  # the SMS only: the email is opted out
    pump.drain()
    assert mail_gateway.sent == [] and [sms.to for sms in gateway.sent] == ["27820000001"]
    assert statuses(second) == {"sent": 1, "opted_out": 1}
    row = hour_row(api, acme.member)
    assert (row["email_sent_count"], row["email_optout_count"], row["sms_sent_count"]) == (1, 1, 1)
    assert verify(acme.id) == []


def test_an_sms_opt_out_does_not_stop_the_email(api, acme, pump, gateway, mail_gateway):
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", email="ann@example.com")
    create_optout(acme.id, "27820000001")
    deployment_id = approve(api, acme, contact_list, dispatch=3)
    pump.drain()
    assert gateway.sent == [] and [m.to for m in mail_gateway.sent] == ["ann@example.com"]
    assert statuses(deployment_id) == {"sent": 1, "opted_out": 1}


def test_every_chunk_delivered_three_times_emails_each_recipient_once(
    api, acme, subscribers, pump, mail_gateway, monkeypatch
):
    real = queue_messages.enqueue_many
    monkeypatch.setattr(
        queue_messages,
        "enqueue_many",
        lambda batch, delay_seconds=0: [real(batch, delay_seconds) for _ in range(3)],
    )
    deployment_id = approve(api, acme, subscribers)
    pump.drain()
    assert len(mail_gateway.sent) == len(PEOPLE) and set(emailed(mail_gateway).values()) == {1}
    deployment = Deployment.get(acme.id, deployment_id)
    assert (deployment.status, deployment.sent_count, deployment.total_credits) == (4, 60, 120)
    assert Company.get(acme.id).credits == 1000 - 120


def test_a_crash_between_ses_and_the_status_write_leaves_one_group_unknown_and_none_emailed_twice(
    api, acme, subscribers, mail_gateway, captured
):
    group = sender.GROUP
    crashed = min(group, len(PEOPLE) - group)  # the second group, where the worker dies
    after = len(PEOPLE) - group - crashed

    def die_once(outgoing, tries):
        if len(mail_gateway.sent) == group + 5 and not getattr(die_once, "done", False):
            die_once.done = True
            mail_gateway.sent.append(outgoing)  # SES took it; the worker dies before writing
            raise Crash

    mail_gateway.script = die_once
    deployment_id = approve(api, acme, subscribers)
    run_send_worker(captured.take(queue_messages.FanOut))
    (chunk,) = captured.take(queue_messages.SendChunk)
    with pytest.raises(Crash):
        run_send_worker([chunk])
    run_send_worker([chunk], attempt=2)  # SQS delivers the chunk again
    assert statuses(deployment_id) == {"sent": group + after, "sending": crashed}
    settlement.finish(Deployment.get(acme.id, deployment_id))
    assert statuses(deployment_id) == {"sent": group + after, "unknown": crashed}
    assert len(mail_gateway.sent) == group + 6 + after and set(emailed(mail_gateway).values()) == {1}
    assert Deployment.get(acme.id, deployment_id).total_credits == 120  # an unknown email may have gone
    assert Company.get(acme.id).credits == 1000 - 120
    row = hour_row(api, acme.member)
    assert (row["email_sent_count"], row["email_unsent_count"]) == (group + after, crashed)
    assert verify(acme.id) == []


def test_two_workers_on_one_email_chunk_send_each_once(api, acme, subscribers, mail_gateway):
    deployment_id = approve(api, acme, subscribers)
    deployment = Deployment.get(acme.id, deployment_id)
    (chunk,) = fanout._chunks(deployment, deployment.round, list(Recipient.query(deployment_id)))
    two_workers_at_once(chunk)
    assert len(mail_gateway.sent) == len(PEOPLE) and set(emailed(mail_gateway).values()) == {1}
    assert statuses(deployment_id)["sent"] == len(PEOPLE)


def test_ses_throttling_then_recovering_emails_everyone_once(api, acme, subscribers, pump, mail_gateway):
    slow = {address for _, address in PEOPLE[:20]}

    def throttle(outgoing, tries):
        if outgoing.to in slow and tries <= 2:
            raise Retryable("TooManyRequestsException", "slow down")

    mail_gateway.script = throttle
    deployment_id = approve(api, acme, subscribers)
    pump.drain()
    assert len(mail_gateway.sent) == len(PEOPLE) and set(emailed(mail_gateway).values()) == {1}
    assert Deployment.get(acme.id, deployment_id).status == 4


def test_a_permanent_rejection_fails_the_email_and_refunds_its_credits(
    api, acme, subscribers, pump, mail_gateway
):
    rejected = PEOPLE[7][1]

    def reject(outgoing, tries):
        if outgoing.to == rejected:
            raise Permanent("MessageRejected", "Email address is not verified")

    mail_gateway.script = reject
    deployment_id = approve(api, acme, subscribers)
    pump.drain()
    failed = [(r.msisdn, r.error) for r in Recipient.query(deployment_id) if r.status == "failed"]
    assert failed == [(rejected, "MessageRejected: Email address is not verified")]
    assert Deployment.get(acme.id, deployment_id).total_credits == 2 * (len(PEOPLE) - 1)
    assert Company.get(acme.id).credits == 1000 - 2 * (len(PEOPLE) - 1)


def test_marketing_email_waits_for_permitted_hours(api, acme, subscribers, pump, mail_gateway, at_time):
    at_time("2026-11-29T12:00:00+02:00")  # a Sunday
    deployment_id = approve(api, acme, subscribers)
    pump.drain()
    assert mail_gateway.sent == [] and Deployment.get(acme.id, deployment_id).status != 4


def test_a_deployment_imported_from_a_file_sends_sms_only(acme):
    from chalicelib.domain.accounts.auth import Caller
    from chalicelib.domain.deployments import drafts
    from chalicelib.domain.errors import InvalidInput

    caller = Caller(company=acme.id, user=acme.member.user.id, role="member")
    with pytest.raises(InvalidInput) as refused:
        drafts.create(caller, {"title": "File", "message": "Hi", "dispatch": 2}, source="import")
    assert "dispatch" in refused.value.fields


def test_an_emails_date_header_is_colonys_clock(api, acme, subscribers, pump, mail_gateway):
    from email.utils import parsedate_to_datetime

    from chalicelib.domain import clock

    approve(api, acme, subscribers)
    pump.drain()
    message = email.message_from_bytes(mail_gateway.sent[0].mime().as_bytes(), policy=email.policy.default)
    assert parsedate_to_datetime(message["Date"]) == clock.now()
