"""Delivery callbacks, received by a real HTTP server on 127.0.0.1 that verifies every signature with the
snippet docs/api.md gives integrators."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.domain import clock
from chalicelib.models.deployments import Message
from chalicelib.settings import PROJECT_DIR


def docs_verify():
    """The verification snippet of docs/api.md, run as an integrator would paste it."""
    text = (PROJECT_DIR / "docs" / "api.md").read_text()
    (snippet,) = re.findall(r"```python\n(import hashlib.*?)```", text, re.S)
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 - our own documentation's code
    return scope["verify"]


class Receiver:
    """An integrator's endpoint: answers `script` (then 200), optionally slowly, and checks signatures."""

    def __init__(self, script=(), delay=0.0):
        self.script, self.delay = list(script), delay
        self.secret = ""
        self.received: list[dict] = []
        self.verify = docs_verify()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrived = time.monotonic()
                time.sleep(receiver.delay)
                code = receiver.script.pop(0) if receiver.script else 200
                receiver.received.append(
                    {
                        "event": json.loads(body),
                        "code": code,
                        "arrived": arrived,
                        "verified": receiver.verify(
                            body, self.headers["Colony-Signature"], receiver.secret, clock.now().timestamp()
                        ),
                    }
                )
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/colony"

    def accepted(self, kind=None):
        return [r["event"] for r in self.received if r["code"] == 200 and kind in (None, r["event"]["type"])]


@pytest.fixture
def receiver():
    made = []

    def make(script=(), delay=0.0):
        made.append(Receiver(script, delay))
        return made[-1]

    yield make
    for one in made:
        one.server.shutdown()


def subscribe(api, tenant, server):
    answer = api.patch("/company", tenant.admin, json_body={"callback_url": server.url})
    assert answer.status == 200, answer.body
    server.secret = answer.body["callback_secret"]
    return answer


def send_one(api, tenant, destination="27815854565"):
    answer = api.post(
        "/messages/send", tenant.member, json_body={"message": "Hi", "destination": destination}
    )
    assert answer.status == 201, answer.body
    return answer.body["id"]


def sent_email(api, pump, tenant, address):
    """An email sent (and handed to the gateway) from a company that now sends email."""
    assert api.patch("/company", tenant.admin, {"email_from": "news@acme.co.za"}).status == 200
    sent = api.post(
        "/emails/send", tenant.member, {"destination": address, "subject": "Hi", "message": "Hello"}
    )
    pump.drain()
    return Message.get(tenant.id, sent.body["id"])


def post_status(api, tenant, body):
    return api.post(f"/webhooks/status/{tenant.company.webhook_token}", json_body=body)


def attempts_of(api, tenant, **query):
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    return api.get(f"/callbacks?{suffix}" if suffix else "/callbacks", tenant.member).body["results"]


def test_the_secret_is_shown_once_and_rotation_replaces_it(api, tenants, receiver):
    acme, _ = tenants
    server = receiver()
    first = subscribe(api, acme, server).body["callback_secret"]
    assert first.startswith("whsec_") and len(first) > 40
    assert "callback_secret" not in api.get("/company", acme.admin).body
    again = api.patch("/company", acme.admin, json_body={"callback_url": server.url + "/v2"})
    assert again.status == 200 and "callback_secret" not in again.body
    assert api.post("/company/callback-secret", acme.member).status == 403
    rotated = api.post("/company/callback-secret", acme.admin)
    assert rotated.status == 200 and rotated.body["callback_secret"] not in (first, None)
    assert "callback_secret" not in api.get("/company", acme.admin).body


@pytest.mark.parametrize(
    "url, reason",
    [
        ("ftp://127.0.0.1/x", "http or https"),
        ("http://user:hunter2@127.0.0.1/x", "credentials"),
        ("http://example.com/hook", "127.0.0.1 or localhost"),
        ("not a url", "http or https"),
    ],
)
def test_a_callback_url_that_may_not_be_used_is_a_400_naming_it(api, tenants, url, reason):
    acme, _ = tenants
    answer = api.patch("/company", acme.admin, json_body={"callback_url": url})
    assert answer.status == 400 and reason in answer.body["error"]["fields"]["callback_url"][0]
    assert "hunter2" not in answer.text


def test_callbacks_off_costs_no_queue_message_and_rotation_needs_a_url(api, tenants, pump, gateway):
    acme, _ = tenants
    send_one(api, acme)
    pump.drain()
    assert pump.invocations.get("callbacks_worker") is None
    assert api.post("/company/callback-secret", acme.admin).status == 409


def test_a_sent_and_delivered_message_is_posted_signed_in_order_of_sequence(
    api, tenants, pump, gateway, receiver
):
    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    message_id = send_one(api, acme)
    pump.drain()
    provider_id = Message.get(acme.id, message_id).provider_id
    assert post_status(api, acme, {"id": provider_id, "status": "delivered"}).status == 200
    pump.drain()
    assert all(r["verified"] for r in server.received)
    events = server.accepted("message.status")
    assert [(e["data"]["message_id"], e["data"]["status"], e["data"]["sequence"]) for e in events] == [
        (message_id, "sent", 1),
        (message_id, "delivered", 2),
    ]
    assert events[0]["company"] == acme.id and events[0]["data"]["msisdn"] == "27815854565"
    assert events[1]["data"]["reference"] == f"m{acme.id}:{message_id}"
    listed = attempts_of(api, acme, status="delivered")
    assert [a["payload"]["data"]["status"] for a in listed] == ["delivered", "sent"]  # newest first
    assert [t["status_code"] for t in listed[0]["attempts"]] == [200]


def test_a_receiver_applying_events_in_any_order_ends_in_the_right_state(
    api, tenants, pump, gateway, receiver
):
    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    ids = [send_one(api, acme, f"2781585000{i}") for i in range(3)]
    pump.drain()
    for message_id in ids[:2]:
        provider_id = Message.get(acme.id, message_id).provider_id
        post_status(api, acme, {"id": provider_id, "status": "delivered"})
    post_status(api, acme, {"id": Message.get(acme.id, ids[2]).provider_id, "status": "failed"})
    pump.drain()
    events = server.accepted("message.status")
    assert len(events) == 6
    for order in itertools.islice(itertools.permutations(events), 0, None, 37):
        state: dict[int, dict] = {}
        for event in order:
            data = event["data"]
            if data["sequence"] > state.get(data["message_id"], {"sequence": 0})["sequence"]:
                state[data["message_id"]] = data
        assert (
            {m: d["status"] for m, d in state.items()}
            == {m: Message.get(acme.id, m).status for m in ids}
            == {ids[0]: "delivered", ids[1]: "delivered", ids[2]: "failed"}
        )


def test_an_endpoint_answering_500_twice_gets_the_event_once_on_the_third_try(
    api, tenants, pump, gateway, receiver
):
    acme, _ = tenants
    server = receiver(script=[500, 500])
    subscribe(api, acme, server)
    send_one(api, acme)
    pump.drain()
    assert [r["code"] for r in server.received] == [500, 500, 200]
    assert len(server.accepted()) == 1 and all(r["verified"] for r in server.received)
    (attempt,) = attempts_of(api, acme)
    assert attempt["status"] == "delivered"
    assert [t["status_code"] for t in attempt["attempts"]] == [500, 500, 200]
    assert api.get(f"/callbacks/{attempt['id']}", acme.member).body == attempt


def test_an_endpoint_that_never_accepts_ends_failed_in_the_dead_letter_queue(
    api, tenants, pump, gateway, receiver
):
    acme, _ = tenants
    server = receiver(script=[503] * 20)
    subscribe(api, acme, server)
    send_one(api, acme)
    pump.drain()
    assert len(server.received) == 15 and not server.accepted()
    (attempt,) = attempts_of(api, acme, status="failed")
    assert len(attempt["attempts"]) == 15
    (dead,) = pump.dead_letters("callbacks")
    assert json.loads(dead)["event"]["id"] == attempt["event_id"]


def test_a_slow_endpoint_never_holds_up_sending(api, tenants, pump, gateway, receiver, monkeypatch):
    monkeypatch.setenv("COLONY_CALLBACK_TIMEOUT_SECONDS", "0.3")
    acme, _ = tenants
    server = receiver(delay=3.0)
    subscribe(api, acme, server)
    message_id = send_one(api, acme)
    (send,) = [s for s in pump.pump.queues if s.name == "send_worker"]
    started = time.monotonic()
    assert pump.pump.deliver(send).received
    assert time.monotonic() - started < 1.5 and Message.get(acme.id, message_id).status == "sent"
    (callbacks,) = [s for s in pump.pump.queues if s.name == "callbacks_worker"]
    started = time.monotonic()
    pump.pump.deliver(callbacks)
    assert time.monotonic() - started < 2.0  # gave up on the endpoint at the timeout, not its 3 s
    (attempt,) = attempts_of(api, acme)
    assert attempt["status"] == "pending" and "timed out" in attempt["attempts"][0]["error"]


def test_a_lost_emission_is_emitted_again_by_the_redelivered_receipt_and_posted_once(
    api, tenants, pump, gateway, receiver, monkeypatch
):
    from chalicelib import aws

    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    message_id = send_one(api, acme)
    pump.drain()
    provider_id = Message.get(acme.id, message_id).provider_id
    sqs = aws.client("sqs")
    real, calls = sqs.send_message_batch, {"n": 0}

    def fails_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SQS is unreachable")
        return real(**kwargs)

    monkeypatch.setattr(sqs, "send_message_batch", fails_once)
    assert post_status(api, acme, {"id": provider_id, "status": "delivered"}).status == 500
    assert Message.get(acme.id, message_id).status == "delivered"  # the status was written
    for _ in range(2):  # the gateway sends it again (and once more)
        assert post_status(api, acme, {"id": provider_id, "status": "delivered"}).body["unchanged"] == 1
    pump.drain()
    assert [e["data"]["status"] for e in server.accepted()] == ["sent", "delivered"]
    assert len(attempts_of(api, acme, type="message.status")) == 2


def test_another_companys_callbacks_are_404_on_every_route(api, tenants, pump, gateway, receiver):
    acme, bravo = tenants
    subscribe(api, acme, receiver())
    send_one(api, acme)
    pump.drain()
    (attempt,) = attempts_of(api, acme)
    assert api.get(f"/callbacks/{attempt['id']}", bravo.admin).status == 404
    assert api.post(f"/callbacks/{attempt['id']}/retry", bravo.admin).status == 404
    assert attempts_of(api, bravo) == []
    assert api.get("/callbacks/99999999", acme.member).status == 404


def test_a_retry_posts_the_event_again(api, tenants, pump, gateway, receiver):
    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    send_one(api, acme)
    pump.drain()
    (attempt,) = attempts_of(api, acme)
    answer = api.post(f"/callbacks/{attempt['id']}/retry", acme.member)
    assert answer.status == 202 and answer.body["id"] == attempt["id"]
    pump.drain()
    assert [e["id"] for e in server.accepted()] == [attempt["event_id"]] * 2
    assert [
        t["status_code"] for t in api.get(f"/callbacks/{attempt['id']}", acme.member).body["attempts"]
    ] == [
        200,
        200,
    ]


def test_a_reply_and_a_stop_are_posted(api, tenants, pump, gateway, receiver):
    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    hook = f"/webhooks/inbound/{acme.company.webhook_token}"
    api.post(hook, json_body={"from": "27815854565", "to": "27820000001", "text": "Thanks, see you then"})
    api.post(hook, json_body={"from": "27815854566", "to": "27820000001", "text": "STOP"})
    pump.drain()
    (reply,) = server.accepted("inbound.received")
    assert reply["data"]["text"] == "Thanks, see you then" and reply["data"]["msisdn"] == "27815854565"
    (optout,) = server.accepted("optout.created")
    assert optout["data"]["msisdn"] == "27815854566" and optout["data"]["reason"] == "Replied STOP"
    assert all(r["verified"] for r in server.received)


def test_the_docs_snippet_refuses_a_tampered_body_another_secret_and_an_old_timestamp():
    from chalicelib.domain.callbacks import signature

    verify, body, now = docs_verify(), b'{"id":"evt_1"}', 1_800_000_000
    header = signature.sign(body, now, ["whsec_right"])
    assert verify(body, header, "whsec_right", now + 299)
    assert signature.verify(body, header, "whsec_right", now)
    assert not verify(b'{"id":"evt_2"}', header, "whsec_right", now)
    assert not verify(body, header, "whsec_wrong", now)
    assert not verify(body, header, "whsec_right", now + 301)
    assert not verify(body, header.replace("t=", "t=1"), "whsec_right", now)
    both = signature.sign(body, now, ["whsec_new", "whsec_old"])
    assert verify(body, both, "whsec_new", now) and verify(body, both, "whsec_old", now)


def test_a_bulk_of_25_is_emitted_in_three_batches_not_25_requests(
    api, tenants, pump, gateway, receiver, monkeypatch
):
    from chalicelib import aws
    from chalicelib.settings import get_settings

    acme, _ = tenants
    subscribe(api, acme, receiver())
    bulk = [{"destination": f"278158{n:05d}", "message": "Hi"} for n in range(25)]
    assert api.post("/messages/bulk", acme.member, json_body=bulk).status == 202
    sqs = aws.client("sqs")
    real, batches = sqs.send_message_batch, []

    def counted(**kwargs):
        if kwargs["QueueUrl"].endswith(get_settings().queue("callbacks")):
            batches.append(len(kwargs["Entries"]))
        return real(**kwargs)

    monkeypatch.setattr(sqs, "send_message_batch", counted)
    pump.drain()
    assert batches == [10, 10, 5]
    assert len(attempts_of(api, acme, status="delivered")) == 25


def test_a_deployments_recipients_are_posted_with_their_deployment_and_sequence(
    api, tenants, pump, gateway, receiver
):
    from tests.factories import approved_deployment

    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    numbers = ["27815850101", "27815850102"]
    deployment = approved_deployment(api, acme, numbers)
    pump.drain()
    events = server.accepted("recipient.status")
    assert sorted((e["data"]["recipient"], e["data"]["status"], e["data"]["sequence"]) for e in events) == [
        (numbers[0], "sent", 1),
        (numbers[1], "sent", 1),
    ]
    assert {e["data"]["deployment"] for e in events} == {deployment}
    assert events[0]["data"]["reference"] == f"d{deployment}:{events[0]['data']['recipient']}"


def test_an_attempt_past_its_30_days_is_absent(api, tenants, pump, gateway, receiver, at_time):
    acme, _ = tenants
    subscribe(api, acme, receiver())
    send_one(api, acme)
    pump.drain()
    (attempt,) = attempts_of(api, acme)
    at_time("2026-12-27T10:00:00+02:00")  # 31 days on: DynamoDB's TTL may not have run yet
    assert attempts_of(api, acme) == []
    assert api.get(f"/callbacks/{attempt['id']}", acme.member).status == 404
    assert api.post(f"/callbacks/{attempt['id']}/retry", acme.member).status == 404


def test_an_emails_bounce_is_posted_as_bounced_with_its_error(api, tenants, pump, mail_gateway, receiver):
    from chalicelib.workers import email_events
    from tests.integration.test_email_events import ANN, bounce

    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    email = sent_email(api, pump, acme, ANN)
    assert email_events.handle(bounce(email.provider_id)) == {"result": "applied"}
    pump.drain()
    statuses = [(e["data"]["status"], e["data"]["sequence"]) for e in server.accepted("message.status")]
    assert statuses == [("sent", 1), ("bounced", 2)]
    bounced = server.accepted("message.status")[-1]["data"]
    assert bounced["email"] == ANN and "user unknown" in bounced["error"]


@pytest.mark.parametrize("kind", ["message.status", "recipient.status"])
def test_a_send_whose_emission_failed_emits_again_when_its_chunk_is_redelivered(
    api, tenants, pump, gateway, receiver, monkeypatch, kind
):
    from chalicelib import aws
    from chalicelib.settings import get_settings
    from tests.factories import approved_deployment

    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    if kind == "message.status":
        send_one(api, acme)
    else:
        approved_deployment(api, acme, ["27815854565"])
    sqs = aws.client("sqs")
    real, calls = sqs.send_message_batch, {"n": 0}

    def fails_once(**kwargs):
        if kwargs["QueueUrl"].endswith(get_settings().queue("callbacks")):
            calls["n"] += 1
            if calls["n"] == 1:
                raise ConnectionError("SQS is unreachable")
        return real(**kwargs)

    monkeypatch.setattr(sqs, "send_message_batch", fails_once)
    pump.drain()
    assert calls["n"] == 2 and len(gateway.sent) == 1  # sent once, emitted twice
    assert [(e["type"], e["data"]["status"]) for e in server.accepted()] == [(kind, "sent")]


def test_what_settlement_writes_is_posted_too_unknown_and_failed(api, tenants, pump, gateway, receiver):
    """A claim a dead worker left ends `unknown` and a recipient never reached `failed`: the launcher's
    settlement writes them, and each is posted like the sender's statuses, with its sequence."""
    from chalicelib.domain.deployments import settlement
    from chalicelib.models.deployments import Deployment
    from tests.factories import create_contact_list, create_recipient, pending_deployment

    acme, _ = tenants
    server = receiver()
    subscribe(api, acme, server)
    draft = pending_deployment(acme, [create_contact_list(acme.id).id])
    draft.update(actions=[Deployment.status.set(3), Deployment.reserved.set(2)])
    create_recipient(draft, "27815850201", "sending", claimed_at=1, quoted=1, seq=1)
    create_recipient(draft, "27815850202", "queued", quoted=1)
    settlement.finish(Deployment.get(acme.id, draft.id))
    pump.drain()
    events = server.accepted("recipient.status")
    assert sorted((e["data"]["recipient"], e["data"]["status"], e["data"]["sequence"]) for e in events) == [
        ("27815850201", "unknown", 2),
        ("27815850202", "failed", 1),
    ]
    assert all(r["verified"] for r in server.received)
