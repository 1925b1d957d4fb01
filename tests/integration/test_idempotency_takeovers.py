"""`Idempotency-Key` under the faults a review found: takeovers racing their slow first request, a 409
retried, routes that cannot resume, another caller's repeat, an upload form outliving its answer."""

import base64
import json
import threading
from datetime import UTC, datetime

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.errors import Conflict
from chalicelib.domain.idempotency import keys
from chalicelib.domain.sending import api_messages
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from tests.factories import create_contact_list, create_contacts, pending_deployment

SMS = {"message": "Your order has shipped", "destination": "0815854565"}
AFTER_THE_LEASE = "2026-11-26T10:01:01+02:00"


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def _killed(*args, **kwargs):
    raise RuntimeError("the function was killed before it answered")


def test_a_takeover_racing_the_slow_original_answers_402_for_a_message_sent_and_paid(
    api, tenants, pump, gateway, monkeypatch, at_time
):
    """The original outlives its lease; the takeover passes `already_paid` before the original pays,
    then loses the payment's condition, which `pay_for` reads as a short balance."""
    acme, _ = tenants
    real_enqueue = queue_messages.enqueue
    original_waits, original_may_go = threading.Event(), threading.Event()
    answers = {}

    def enqueue(batch, *args, **kwargs):
        if threading.current_thread() is original:
            original_waits.set()
            original_may_go.wait(10)
        else:  # the takeover: let the original pay and answer first
            original_may_go.set()
            original.join(10)
        return real_enqueue(batch, *args, **kwargs)

    monkeypatch.setattr(queue_messages, "enqueue", enqueue)

    def first():
        answers["original"] = api.post("/messages/send", acme.member, SMS, headers=keyed("slow"))

    original = threading.Thread(target=first)
    original.start()
    assert original_waits.wait(10)
    at_time(AFTER_THE_LEASE)  # the original is still running, past its lease
    answers["takeover"] = api.post("/messages/send", acme.member, SMS, headers=keyed("slow"))
    original.join(10)
    monkeypatch.setattr(queue_messages, "enqueue", real_enqueue)
    pump.drain()
    assert len(gateway.sent) == 1 and Company.get(acme.id).credits == 999  # sent and paid once
    replay = api.post("/messages/send", acme.member, SMS, headers=keyed("slow"))
    assert (answers["original"].status, answers["takeover"].status, replay.status) == (201, 201, 201), (
        answers["takeover"].body
    )


def test_a_takeover_racing_a_slow_bulk_overwrites_its_paid_record_as_refused(
    api, tenants, pump, gateway, monkeypatch, at_time
):
    """As above for a bulk: the takeover loses `pay_for`'s condition (the Bulk exists), and its `except`
    saves `status="refused"` over the paid Bulk, so the sender fails every message that was paid for."""
    acme, _ = tenants
    items = [{"message": f"Parcel {n}", "destination": f"08158545{n:02d}"} for n in range(3)]
    real_enqueue_many = queue_messages.enqueue_many
    original_waits, original_may_go = threading.Event(), threading.Event()
    answers = {}

    def enqueue_many(batch, *args, **kwargs):
        if threading.current_thread() is original:
            original_waits.set()
            original_may_go.wait(10)
        else:
            original_may_go.set()
            original.join(10)
        return real_enqueue_many(batch, *args, **kwargs)

    monkeypatch.setattr(queue_messages, "enqueue_many", enqueue_many)

    def first():
        answers["original"] = api.post("/messages/bulk", acme.member, items, headers=keyed("slow-bulk"))

    original = threading.Thread(target=first)
    original.start()
    assert original_waits.wait(10)
    at_time(AFTER_THE_LEASE)
    answers["takeover"] = api.post("/messages/bulk", acme.member, items, headers=keyed("slow-bulk"))
    original.join(10)
    monkeypatch.setattr(queue_messages, "enqueue_many", real_enqueue_many)
    pump.drain()
    assert Company.get(acme.id).credits == 997  # paid once
    assert len(gateway.sent) == 3, [m.status for m in Message.query(acme.id)]


def test_a_bulk_whose_payment_met_a_409_is_refused_as_402_on_the_retry_the_409_invited(
    api, tenants, pump, gateway, monkeypatch
):
    """A 409 frees the key so that a retry runs again, but the refused Bulk the 409 left behind makes
    `_settled_before` answer a 402 (short by a negative amount), and that 402 is then kept for a day."""
    acme, _ = tenants
    items = [{"message": f"Parcel {n}", "destination": f"08158545{n:02d}"} for n in range(3)]
    real_pay_for = api_messages.pay_for

    def busy(*args, **kwargs):
        raise Conflict("Too many payments at once; please retry.", code="concurrent_change")

    monkeypatch.setattr(api_messages, "pay_for", busy)
    first = api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-409"))
    assert first.status == 409
    monkeypatch.setattr(api_messages, "pay_for", real_pay_for)
    retried = api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-409"))
    assert retried.status == 202, retried.body
    pump.drain()
    assert len(gateway.sent) == 3 and Company.get(acme.id).credits == 997


def test_a_draft_retried_after_its_request_died_is_made_once(api, tenants, monkeypatch, at_time):
    """Only the send routes resume: a repeat of a `/deployments` that died mid-way is told so (a 409,
    kept), and never makes a second draft."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565")
    body = {"title": "Spring", "message": "Hi", "contact_lists": [contact_list.id]}
    real_finish = keys.finish
    monkeypatch.setattr(keys, "finish", _killed)
    assert api.post("/deployments", acme.member, body, headers=keyed("draft-died")).status == 500
    monkeypatch.setattr(keys, "finish", real_finish)
    at_time(AFTER_THE_LEASE)
    retried = api.post("/deployments", acme.member, body, headers=keyed("draft-died"))
    assert retried.status == 409 and retried.error_code == "idempotency_key_interrupted"
    again = api.post("/deployments", acme.member, body, headers=keyed("draft-died"))
    assert again.body == retried.body and again.headers["Idempotent-Replayed"] == "true"
    assert len(api.every_page("/deployments", acme.member)) == 1


def test_an_approval_retried_after_its_request_died_is_told_so_and_reserves_once(
    api, tenants, monkeypatch, at_time
):
    """The approval was done; its repeat is not run again (which would be a 409 that frees the key for
    ever) but told, once and for good, that the first was interrupted; the credits are reserved once."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565")
    deployment = pending_deployment(acme, [contact_list.id])
    path = f"/deployments/{deployment.id}/approve"
    real_finish = keys.finish
    monkeypatch.setattr(keys, "finish", _killed)
    assert api.post(path, acme.approver, headers=keyed("approve-died")).status == 500
    monkeypatch.setattr(keys, "finish", real_finish)
    at_time(AFTER_THE_LEASE)
    retried = api.post(path, acme.approver, headers=keyed("approve-died"))
    assert retried.status == 409 and retried.error_code == "idempotency_key_interrupted"
    assert api.post(path, acme.approver, headers=keyed("approve-died")).body == retried.body
    assert Company.get(acme.id).credits == 999


def test_a_replay_is_only_for_the_caller_who_made_it(api, tenants):
    """A member, who may not approve, repeating an approver's request under its key is refused (the key
    was used by someone else), never given the approver's 200."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565")
    deployment = pending_deployment(acme, [contact_list.id])
    path = f"/deployments/{deployment.id}/approve"
    assert api.post(path, acme.approver, headers=keyed("approve-1")).status == 200
    assert api.post(path, acme.member).status == 403  # what the member gets without the key
    replayed = api.post(path, acme.member, headers=keyed("approve-1"))
    assert replayed.status == 422 and replayed.error_code == "idempotency_key_reused", replayed.body


def test_an_upload_form_replayed_after_it_expired_is_not_a_dead_form(api, tenants, monkeypatch, at_time):
    """`/uploads` answers a presigned S3 form valid for an hour, so its answer is kept only while the form
    it holds still has ten minutes to run: a retry two hours on gets a new form that S3 takes."""
    acme, _ = tenants
    monkeypatch.setattr(
        "botocore.signers.get_current_datetime", lambda: clock.now().astimezone(UTC).replace(tzinfo=None)
    )
    body = {"kind": "deployment", "filename": "orders.csv"}
    first = api.post("/uploads", acme.member, body, headers=keyed("upload-1"))
    assert first.status == 201, first.body
    at_time("2026-11-26T12:00:00+02:00")
    again = api.post("/uploads", acme.member, body, headers=keyed("upload-1"))
    assert again.status == 201
    policy = json.loads(base64.b64decode(again.body["fields"]["policy"]))
    expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert expiration > clock.now(), f"the replayed form expired at {expiration:%H:%M}Z"
