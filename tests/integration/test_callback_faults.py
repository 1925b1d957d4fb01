"""Delivery callbacks under the faults a review found: a host rebound or percent-encoded past its check,
an endpoint trickling its answer or slow for one company, unbounded concurrency, a lost settlement
emission, settlement's request count, a double rotation, a complaint's sequence, an event's time, the
URL a try went to."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time

from chalicelib import aws, queue_messages
from chalicelib.domain import clock
from chalicelib.domain.callbacks import delivery, targets
from chalicelib.local.stack import load_template
from chalicelib.models.deployments import Message
from chalicelib.settings import get_settings
from tests.conftest import NetworkBlocked
from tests.integration.test_callbacks import attempts_of, receiver, send_one, sent_email, subscribe

PUBLIC = "93.184.216.34"


def _was_reached(listener: socket.socket) -> bool:
    """Whether anything connected to `listener` (within half a second); it is closed after."""
    listener.settimeout(0.5)
    try:
        listener.accept()[0].close()
        return True
    except TimeoutError:
        return False
    finally:
        listener.close()


__all__ = ["receiver"]  # the fixture, shared with test_callbacks


def _settings(**changes):
    settings = dataclasses.replace(get_settings(), **changes)
    return lambda: settings


def _listener() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    return listener


def test_a_name_rebound_to_loopback_after_the_check_is_never_connected_to(monkeypatch):
    """DNS rebinding: the host is checked on one resolution and connected to on another."""
    listener = _listener()
    port = listener.getsockname()[1]
    asked: list[str] = []

    def rebinding(host, port_, *args, **kwargs):
        asked.append(host)
        address = PUBLIC if len(asked) == 1 else "127.0.0.1"  # a TTL-0 name answers differently
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(delivery, "get_settings", _settings(stage="prod", callback_timeout_seconds=0.5))
    with contextlib.suppress(NetworkBlocked):  # connecting to the address that was checked is right
        delivery.post(f"https://rebind.example.com:{port}/colony", {"id": "evt_1"}, ["whsec_x"])
    reached = _was_reached(listener)
    assert not reached, f"checked {PUBLIC}, then connected to 127.0.0.1:{port} (resolved {len(asked)}x)"


def _trickler(seconds: float) -> tuple[socket.socket, threading.Thread]:
    """An endpoint that answers one header byte every 0.2 s for `seconds` (each read is quick)."""
    listener = _listener()

    def serve():
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        ends = time.monotonic() + seconds
        with contextlib.suppress(OSError):
            while time.monotonic() < ends:
                connection.sendall(b"x")
                time.sleep(0.2)
            connection.sendall(b"\r\nContent-Length: 0\r\n\r\n")
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_an_endpoint_trickling_its_answer_holds_the_worker_far_past_the_timeout(monkeypatch):
    """The timeout bounds each socket read, not the request: a byte every 0.2 s holds the worker."""
    listener, thread = _trickler(seconds=4.0)
    monkeypatch.setattr(delivery, "get_settings", _settings(callback_timeout_seconds=0.5))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/colony"
    started = time.monotonic()
    delivery.post(url, {"id": "evt_1"}, ["whsec_x"])
    took = time.monotonic() - started
    thread.join(5)
    listener.close()
    assert took < 2.0, f"a 0.5 s timeout held the worker {took:.1f} s (a batch of 10 would be 10x)"


def test_one_companys_slow_endpoint_holds_up_another_companys_callbacks(
    api, tenants, pump, receiver, monkeypatch
):
    """A batch's POSTs go side by side: all seven reach their endpoints at once, so bravo waits for none
    of acme's six slow ones (one after another, they would arrive a deadline, 1 s, apart)."""
    monkeypatch.setenv("COLONY_CALLBACK_TIMEOUT_SECONDS", "1")
    acme, bravo = tenants
    slow, fast = receiver(delay=2.0), receiver()
    subscribe(api, acme, slow)
    subscribe(api, bravo, fast)
    events = [
        queue_messages.CallbackEvent(company=acme.id, event={"id": f"evt_a{i}", "type": "message.status"})
        for i in range(6)
    ]
    events.append(
        queue_messages.CallbackEvent(company=bravo.id, event={"id": "evt_b", "type": "message.status"})
    )
    queue_messages.enqueue_many(events)
    (callbacks,) = [s for s in pump.pump.queues if s.name == "callbacks_worker"]
    assert pump.pump.deliver(callbacks).received == 7
    assert [e["id"] for e in fast.accepted()] == ["evt_b"]
    deadline = time.monotonic() + 5
    while len(slow.received) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)  # the slow endpoint records each request once its 2 s are up
    first = min(r["arrived"] for r in slow.received)
    spread = max(r["arrived"] for r in slow.received + fast.received) - first
    assert spread < 1.0, f"the batch's POSTs went out over {spread:.1f} s, one after another"


def test_the_callbacks_worker_cannot_take_the_accounts_whole_lambda_concurrency():
    """Unbounded, a slow endpoint's backlog scales the worker up to the account's limit, which the API
    and the other workers share (the send worker's reservation is carved out of it too)."""
    worker = load_template()["Resources"]["CallbacksWorker"]["Properties"]
    source = worker["Events"]["CallbacksWorkerSqsEventSource"]["Properties"]
    capped = "ReservedConcurrentExecutions" in worker or "MaximumConcurrency" in source.get(
        "ScalingConfig", {}
    )
    assert capped, "CallbacksWorker has neither reserved concurrency nor an event source maximum"


def test_a_second_rotation_within_the_day_drops_the_secret_the_receiver_still_has(
    api, tenants, pump, gateway, receiver
):
    """Rotate, lose the answer (a timeout), rotate again: the secret the receiver holds stops signing
    at once, though the first rotation promised it 24 hours."""
    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)  # server.secret: the one the receiver has
    assert api.post("/company/callback-secret", acme.admin).status == 200  # its answer is lost
    assert api.post("/company/callback-secret", acme.admin).status == 200
    send_one(api, acme)
    pump.drain()
    assert server.received and all(r["verified"] for r in server.received)


def test_an_attempt_shows_the_url_its_tries_went_to(api, tenants, pump, gateway, receiver):
    """The URL is recorded once, at the first try; later tries go to the URL set since."""
    acme, _ = tenants
    old, new = receiver(script=[500]), receiver()
    subscribe(api, acme, old)
    send_one(api, acme)
    pump.drain()
    assert api.patch("/company", acme.admin, json_body={"callback_url": new.url}).status == 200
    new.secret = old.secret
    (attempt,) = attempts_of(api, acme)
    assert api.post(f"/callbacks/{attempt['id']}/retry", acme.member).status == 202
    pump.drain()
    assert [e["id"] for e in new.accepted()] == [attempt["event_id"]]
    (attempt,) = attempts_of(api, acme)
    assert attempt["attempts"][-1]["status_code"] == 200 and attempt["url"] == new.url


def test_an_emails_complaint_outranks_its_delivery_in_any_order(api, tenants, pump, mail_gateway, receiver):
    """`complained` carries a higher sequence than the `delivered` it follows, so a receiver keeping the
    highest ends complained whichever came first."""
    from chalicelib.workers import email_events
    from tests.integration.test_email_events import ANN, ses_event

    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    email = sent_email(api, pump, acme, ANN)
    email_events.handle(ses_event("Delivery", email.provider_id, delivery={"recipients": [ANN]}))
    complaint = {"complainedRecipients": [{"emailAddress": ANN}]}
    email_events.handle(ses_event("Complaint", email.provider_id, complaint=complaint))
    pump.drain()
    seen = {e["data"]["status"]: e["data"]["sequence"] for e in server.accepted("message.status")}
    assert set(seen) == {"sent", "delivered", "complained"}, seen
    assert seen["complained"] > seen["delivered"], json.dumps(seen)


def test_a_percent_encoded_host_is_checked_as_written_and_connected_to_decoded(monkeypatch):
    """urlsplit keeps `%2e` in the host the check resolves; urllib unquotes it before connecting, so a
    wildcard name the customer's DNS answers publicly hides an inside one."""
    listener = _listener()
    port = listener.getsockname()[1]

    def resolver(host, port_, *args, **kwargs):
        address = PUBLIC if "%" in host else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(delivery, "get_settings", _settings(stage="prod", callback_timeout_seconds=0.5))
    url = f"https://inside%2eexample.com:{port}/colony"
    try:
        targets.check_url(url, local=False)
    except targets.RefusedTarget:
        return  # refused when set: the defect is gone
    with contextlib.suppress(NetworkBlocked):
        delivery.post(url, {"id": "evt_1"}, ["whsec_x"])
    reached = _was_reached(listener)
    assert not reached, f"{url} was accepted, then connected to 127.0.0.1:{port}"


def _stopped_deployment(tenant, recipients: int):
    from chalicelib.models.deployments import Deployment
    from tests.factories import create_contact_list, create_recipient, pending_deployment

    draft = pending_deployment(tenant, [create_contact_list(tenant.id).id])
    draft.update(actions=[Deployment.status.set(3), Deployment.reserved.set(recipients)])
    for n in range(recipients):
        create_recipient(draft, f"278158{n:05d}", "queued", quoted=1)
    return Deployment.get(tenant.id, draft.id)


def _callback_batches(monkeypatch, fail_first: bool = False) -> list[int]:
    """The sizes of the SendMessageBatch requests to the callbacks queue (the first fails if asked)."""
    sqs = aws.client("sqs")
    real, batches = sqs.send_message_batch, []

    def counted(**kwargs):
        if kwargs["QueueUrl"].endswith(get_settings().queue("callbacks")):
            batches.append(len(kwargs["Entries"]))
            if fail_first and len(batches) == 1:
                raise ConnectionError("SQS is unreachable")
        return real(**kwargs)

    monkeypatch.setattr(sqs, "send_message_batch", counted)
    return batches


def test_settlement_emits_ten_to_a_request_not_one_per_recipient(
    api, tenants, pump, gateway, receiver, monkeypatch
):
    """A stopped deployment's 25 unsent recipients cost 25 SendMessageBatch (and 25 GetItem)."""
    from chalicelib.domain.deployments import settlement

    acme, _ = tenants
    subscribe(api, acme, receiver())
    deployment = _stopped_deployment(acme, 25)
    batches = _callback_batches(monkeypatch)
    settlement.finish(deployment)
    assert sum(batches) == 25 and len(batches) <= 3, batches


def test_a_settlement_whose_emission_failed_still_posts_every_recipient_when_run_again(
    api, tenants, pump, gateway, receiver, monkeypatch
):
    """The status is written, the emission fails, the retried settlement finds it written and moves on:
    the receiver never hears that the recipient failed."""
    from chalicelib.domain.deployments import settlement
    from chalicelib.models.deployments import Deployment

    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    deployment = _stopped_deployment(acme, 2)
    _callback_batches(monkeypatch, fail_first=True)
    with contextlib.suppress(ConnectionError):
        settlement.finish(deployment)
    settlement.finish(Deployment.get(acme.id, deployment.id, consistent_read=True))
    pump.drain()
    posted = sorted(e["data"]["recipient"] for e in server.accepted("recipient.status"))
    assert posted == ["27815800000", "27815800001"]


def test_an_event_emitted_again_carries_the_time_of_its_status_not_of_its_emission(
    api, tenants, pump, gateway, receiver, monkeypatch, at_time
):
    """A receipt redelivered an hour after a lost emission posts `created` an hour late."""
    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    message_id = send_one(api, acme)
    pump.drain()
    provider_id = Message.get(acme.id, message_id).provider_id
    hook = f"/webhooks/status/{acme.company.webhook_token}"
    batches = _callback_batches(monkeypatch, fail_first=True)
    assert api.post(hook, json_body={"id": provider_id, "status": "delivered"}).status == 500
    delivered_at = Message.get(acme.id, message_id).date_delivered
    at_time("2026-11-26T11:00:00+02:00")
    assert api.post(hook, json_body={"id": provider_id, "status": "delivered"}).status == 200
    pump.drain()
    assert len(batches) == 2
    (event,) = [e for e in server.accepted() if e["data"]["status"] == "delivered"]
    assert event["created"] == clock.iso(delivered_at)
