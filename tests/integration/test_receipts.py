"""Delivery receipts: applied once, in any order, only to the company whose webhook they came through."""

import json

import pytest

from chalicelib import aws
from chalicelib.domain.inbound import receipts
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Message, Recipient
from chalicelib.settings import get_settings
from tests.factories import create_contact_list, create_contacts, pending_deployment

NUMBERS = ["27815850001", "27815850002", "27815850003"]


@pytest.fixture
def sent(api, tenants, pump, gateway, at_time):
    """Acme's campaign to three numbers, sent and settled; returns (deployment id, {number: provider id})."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, *NUMBERS)
    deployment = pending_deployment(acme, [contact_list.id])
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    ids = {r.msisdn: r.provider_id for r in Recipient.query(deployment.id)}
    assert all(ids.values())
    return deployment.id, ids


def post_status(api, tenant, body, **kw):
    return api.post(f"/webhooks/status/{tenant.company.webhook_token}", json_body=body, **kw)


def status_of(deployment_id, number):
    return Recipient.get(deployment_id, number).status


def test_a_delivery_receipt_marks_the_recipient_delivered(api, tenants, sent):
    acme, _ = tenants
    deployment_id, ids = sent
    answer = post_status(api, acme, {"id": ids[NUMBERS[0]], "status": "delivered"})
    assert answer.status == 200 and answer.body == {"applied": 1, "unchanged": 0, "unknown": 0}
    recipient = Recipient.get(deployment_id, NUMBERS[0])
    assert recipient.status == "delivered" and recipient.date_delivered is not None
    listed = api.get(f"/deployments/{deployment_id}/messages?status=delivered", acme.member).body["results"]
    assert [(r["msisdn"], r["status"]) for r in listed] == [(NUMBERS[0], "delivered")]
    assert listed[0]["date_delivered"]


def test_receipts_in_any_order_and_twice_end_the_same(api, tenants, sent):
    acme, _ = tenants
    deployment_id, ids = sent
    first, second, third = (ids[n] for n in NUMBERS)
    # Delivered first, then a late "sent", a late failure and the delivery again: delivered stays.
    results = [
        post_status(api, acme, {"id": first, "status": status}).body
        for status in ("delivered", "sent", "failed", "delivered")
    ]
    assert [r["applied"] for r in results] == [1, 0, 0, 0]
    assert [r["unchanged"] for r in results] == [0, 1, 1, 1]
    # A failure, then the delivery that came later from the handset: delivered wins.
    post_status(api, acme, {"id": second, "status": "undelivered", "error": "absent subscriber"})
    assert Recipient.get(deployment_id, NUMBERS[1]).error == "undelivered: absent subscriber"
    post_status(api, acme, {"id": second, "status": "DELIVRD"})
    # Accepted, then failed: failed.
    post_status(api, acme, {"id": third, "status": "queued"})
    post_status(api, acme, {"id": third, "status": "TEXT_BLOCKED"})
    post_status(api, acme, {"id": third, "status": "TEXT_BLOCKED"})
    delivered = Recipient.get(deployment_id, NUMBERS[1])
    assert (status_of(deployment_id, NUMBERS[0]), delivered.status, delivered.error) == (
        "delivered",
        "delivered",
        None,
    )
    counts = api.get(f"/deployments/{deployment_id}", acme.member).body
    # each receipt counted once, and the counts say what the recipients say
    assert (counts["sent"], counts["delivered"], counts["failed"], counts["unknown"]) == (2, 2, 1, 0)
    assert (status_of(deployment_id, NUMBERS[2]), Recipient.get(deployment_id, NUMBERS[2]).error) == (
        "failed",
        "TEXT_BLOCKED",
    )
    # A delivery failure is not refunded: the network was paid for the attempt.
    assert Deployment.get(acme.id, deployment_id).total_credits == 3
    assert Company.get(acme.id).credits == 1000 - 3


def test_an_unknown_provider_id_is_acknowledged_not_an_error(api, tenants, sent):
    acme, _ = tenants
    answer = post_status(api, acme, {"id": "never-seen", "status": "delivered"})
    assert answer.status == 200 and answer.body == {"applied": 0, "unchanged": 0, "unknown": 1}
    answer = post_status(api, acme, {"reference": "d999999:27815850001", "status": "delivered"})
    assert answer.body["unknown"] == 1


def test_another_companys_receipts_cannot_touch_this_one(api, tenants, sent):
    _, bravo = tenants
    deployment_id, ids = sent
    by_id = post_status(api, bravo, {"id": ids[NUMBERS[0]], "status": "failed"})
    by_reference = post_status(
        api, bravo, {"reference": f"d{deployment_id}:{NUMBERS[1]}", "status": "failed"}
    )
    assert by_id.body["unknown"] == 1 and by_reference.body["unknown"] == 1
    assert {status_of(deployment_id, n) for n in NUMBERS} == {"sent"}


def test_a_receipt_for_an_api_message_by_reference_and_by_form(api, tenants, pump, gateway):
    acme, bravo = tenants
    created = api.post(
        "/messages/send", acme.member, {"destination": NUMBERS[0], "message": "Your code is 4821"}
    )
    pump.drain()
    message = Message.get(acme.id, created.body["id"])
    reference = f"m{acme.id}:{message.id}"
    assert gateway.sent[0].reference == reference
    assert post_status(api, bravo, {"reference": reference, "status": "delivered"}).body["unknown"] == 1
    answer = api.call(
        "POST",
        f"/webhooks/status/{acme.company.webhook_token}",
        raw=f"MessageSid={message.provider_id}&MessageStatus=delivered",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200 and answer.body["applied"] == 1, answer.body
    shown = api.get(f"/messages/{message.id}", acme.member).body
    assert shown["status"] == "delivered" and shown["date_delivered"]


def test_a_receipt_faster_than_the_senders_own_status_write_stands(api, tenants, pump, gateway, at_time):
    """The network can answer before the sender writes its group's statuses: the receipt must win."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, *NUMBERS)

    def delivered_at_once(sms, tries):
        if sms.to == NUMBERS[0]:
            assert Recipient.get(int(sms.reference[1:].split(":")[0]), sms.to).status == "sending"
            result = receipts.apply(receipts.Receipt(receipts.DELIVERED, reference=sms.reference), acme.id)
            assert result == "applied"

    gateway.script = delivered_at_once
    deployment = pending_deployment(acme, [contact_list.id])
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    first = Recipient.get(deployment.id, NUMBERS[0])
    assert (first.status, first.provider_id is not None, first.segments) == ("delivered", True, 1)
    finished = Deployment.get(acme.id, deployment.id)
    assert (finished.status, finished.sent_count, finished.total_credits) == (4, 3, 3)


def test_a_batch_of_receipts_is_checked_whole_before_any_is_applied(api, tenants, sent):
    acme, _ = tenants
    deployment_id, ids = sent
    bad = post_status(
        api,
        acme,
        [{"id": ids[NUMBERS[0]], "status": "delivered"}, {"id": ids[NUMBERS[1]], "status": "teleported"}],
    )
    assert bad.status == 400 and "[1].status" in bad.body["error"]["fields"]
    assert status_of(deployment_id, NUMBERS[0]) == "sent"
    good = post_status(api, acme, [{"id": ids[n], "status": "delivered"} for n in NUMBERS])
    assert good.body == {"applied": 3, "unchanged": 0, "unknown": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"status": "delivered"}, "id"), ({"id": "x"}, "status"), ({"id": "x", "status": "beamed"}, "status")],
)
def test_malformed_receipts_are_400_by_field(api, tenants, body, field):
    acme, _ = tenants
    answer = post_status(api, acme, body)
    assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body


def test_end_user_messaging_events_arrive_through_sns(api, tenants, sent, pump):
    deployment_id, ids = sent
    sns = aws.client("sns")
    arn = f"arn:aws:sns:{get_settings().region}:123456789012:{get_settings().topic('sms-events')}"

    def event(event_type, number, final=True, **extra):
        body = {
            "eventType": event_type,
            "eventVersion": "1.0",
            "isFinal": final,
            "messageId": ids[number],
            "messageStatusDescription": "Message has been accepted by phone",
            **extra,
        }
        sns.publish(TopicArn=arn, Message=json.dumps(body))

    event("TEXT_SUCCESSFUL", NUMBERS[0], final=False)
    event("TEXT_DELIVERED", NUMBERS[0])
    event("TEXT_SUCCESSFUL", NUMBERS[0], final=False)
    event("TEXT_CARRIER_UNREACHABLE", NUMBERS[1], final=False)
    event("TEXT_TTL_EXPIRED", NUMBERS[2], context={"reference": f"d{deployment_id}:{NUMBERS[2]}"})
    sns.publish(TopicArn=arn, Message="not json at all")
    sns.publish(TopicArn=arn, Message=json.dumps({"eventType": "TEXT_DELIVERED", "messageId": "unknown-id"}))
    pump.drain()
    assert [status_of(deployment_id, n) for n in NUMBERS] == ["delivered", "sent", "failed"]
    assert Recipient.get(deployment_id, NUMBERS[2]).error.startswith("TEXT_TTL_EXPIRED")


def test_an_sns_message_that_is_not_understood_is_dropped_not_retried():
    from chalicelib.workers import sms_events

    assert sms_events.handle_event("not json") == {"dropped": 1}
    assert sms_events.handle_inbound('{"originationNumber": 1}') == {"dropped": 1}
