"""Safe retries with an `Idempotency-Key`: one action per key, the first answer replayed, a reused key
refused, and a request that died mid-way resumed with the same ids (nothing sent or charged twice)."""

import threading
import time

import pytest

from chalicelib.domain.idempotency import keys
from chalicelib.domain.sending import api_messages
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from chalicelib.models.idempotency import IdempotencyKey
from tests.api_client import multipart
from tests.factories import create_contact_list, create_contacts

SMS = {"message": "Your order has shipped", "destination": "0815854565"}


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_repeat_replays_the_first_answer_and_does_nothing(api, tenants, pump, gateway):
    acme, _ = tenants
    first = api.post("/messages/send", acme.member, SMS, headers=keyed("order-1001"))
    again = api.post("/messages/send", acme.member, SMS, headers=keyed("order-1001"))
    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    pump.drain()
    assert [s.to for s in gateway.sent] == ["27815854565"]
    assert Company.get(acme.id).credits == 999


def test_two_concurrent_sends_with_one_key_send_once_and_answer_alike(
    api, tenants, pump, gateway, monkeypatch
):
    acme, _ = tenants
    original = api_messages.send_one

    def slow(*args, **kwargs):
        time.sleep(0.3)  # the second request arrives while the first still runs
        return original(*args, **kwargs)

    monkeypatch.setattr(api_messages, "send_one", slow)
    start = threading.Barrier(2)
    answers = []

    def send():
        start.wait()
        answers.append(api.post("/messages/send", acme.member, SMS, headers=keyed("same-key")))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status for a in answers] == [201, 201]
    assert answers[0].body == answers[1].body
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    pump.drain()
    assert len(gateway.sent) == 1
    assert Company.get(acme.id).credits == 999


def test_a_repeat_while_the_first_still_runs_is_409_to_retry(api, tenants, monkeypatch):
    acme, _ = tenants
    monkeypatch.setattr(keys, "WAIT_SECONDS", 0.1)
    original = keys.finish
    monkeypatch.setattr(keys, "finish", _killed)
    assert api.post("/messages/send", acme.member, SMS, headers=keyed("running")).status == 500
    monkeypatch.setattr(keys, "finish", original)
    answer = api.post("/messages/send", acme.member, SMS, headers=keyed("running"))
    assert answer.status == 409 and answer.error_code == "idempotency_key_in_use"
    assert answer.headers["Retry-After"] == "2"
    other = api.post("/messages/send", acme.member, {**SMS, "message": "Hi"}, headers=keyed("running"))
    assert other.status == 422  # another request's key is refused at once, not waited on
    assert Company.get(acme.id).credits == 999


def _killed(*args, **kwargs):
    raise RuntimeError("the function was killed before it answered")


def test_the_same_key_with_another_body_or_route_is_422(api, tenants, pump, gateway):
    acme, _ = tenants
    assert api.post("/messages/send", acme.member, SMS, headers=keyed("k")).status == 201
    other = api.post("/messages/send", acme.member, {**SMS, "message": "Hi"}, headers=keyed("k"))
    assert other.status == 422 and other.error_code == "idempotency_key_reused"
    assert "Idempotency-Key" in other.body["error"]["fields"]
    elsewhere = api.post("/emails/send", acme.member, {"to": "a@example.com"}, headers=keyed("k"))
    assert elsewhere.status == 422
    pump.drain()
    assert len(gateway.sent) == 1


def test_keys_belong_to_one_company(api, tenants, pump, gateway):
    acme, globex = tenants
    assert api.post("/messages/send", acme.member, SMS, headers=keyed("shared")).status == 201
    theirs = api.post("/messages/send", globex.member, SMS, headers=keyed("shared"))
    assert theirs.status == 201 and "Idempotent-Replayed" not in theirs.headers
    pump.drain()
    assert len(gateway.sent) == 2
    assert Company.get(globex.id).credits == 999


def test_an_answer_is_kept_24_hours(api, tenants, pump, gateway, at_time):
    acme, _ = tenants
    first = api.post("/messages/send", acme.member, SMS, headers=keyed("daily"))
    at_time("2026-11-27T09:59:59+02:00")
    assert api.post("/messages/send", acme.member, SMS, headers=keyed("daily")).body == first.body
    at_time("2026-11-27T10:00:01+02:00")  # expired: moto never fires the TTL, and reads ignore it
    fresh = api.post("/messages/send", acme.member, SMS, headers=keyed("daily"))
    assert fresh.status == 201 and fresh.body["id"] != first.body["id"]
    pump.drain()
    assert len(gateway.sent) == 2


@pytest.mark.parametrize(
    ("value", "reason"),
    [("", "1 to 255"), ("x" * 256, "1 to 255"), ("tab\there", "printable"), ("é", "printable")],
)
def test_a_bad_key_is_400_naming_the_header(api, tenants, value, reason):
    acme, _ = tenants
    answer = api.post("/messages/send", acme.member, SMS, headers=keyed(value))
    assert answer.status == 400
    assert reason in answer.body["error"]["fields"]["Idempotency-Key"][0]
    assert Company.get(acme.id).credits == 1000


def test_a_route_that_takes_no_key_says_so(api, tenants):
    acme, _ = tenants
    for method, path in (("GET", "/messages"), ("POST", "/api-keys"), ("PATCH", "/company")):
        answer = api.call(method, path, acme.admin, {"name": "ci"}, headers=keyed("k"))
        assert answer.status == 400, (method, path)
        assert "Idempotency-Key" in answer.body["error"]["fields"]


def test_an_error_answer_is_replayed_too(api, tenants):
    acme, _ = tenants
    bad = {"message": "hi", "destination": "12"}
    first = api.post("/messages/send", acme.member, bad, headers=keyed("bad"))
    again = api.post("/messages/send", acme.member, bad, headers=keyed("bad"))
    assert first.status == again.status == 400
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"


def test_a_bulk_that_died_before_paying_resumes_with_the_same_messages(
    api, tenants, pump, gateway, monkeypatch
):
    acme, _ = tenants
    items = [{"message": f"Parcel {n}", "destination": f"08158545{n:02d}"} for n in range(30)]
    original = api_messages.pay_for

    def crash(*args, **kwargs):
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(api_messages, "pay_for", crash)
    first = api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-7"))
    assert first.status == 500
    pump.drain()  # its messages were written and queued, unpaid: nothing goes out
    assert gateway.sent == []
    monkeypatch.setattr(api_messages, "pay_for", original)
    retried = api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-7"))
    assert retried.status == 202 and retried.body["accepted"] == 30
    pump.drain()
    assert sorted(s.to for s in gateway.sent) == sorted(f"278158545{n:02d}" for n in range(30))
    assert Company.get(acme.id).credits == 970
    ids = {m["id"] for m in retried.body["messages"]}
    assert len(ids) == 30
    stored = list(Message.query(acme.id))
    assert len(stored) == 30 and {m.id for m in stored} == ids


def test_a_bulk_that_died_after_paying_is_not_sent_or_charged_again(
    api, tenants, pump, gateway, monkeypatch, at_time
):
    acme, _ = tenants
    items = [{"message": f"Parcel {n}", "destination": f"08158545{n:02d}"} for n in range(12)]
    original = keys.finish
    monkeypatch.setattr(keys, "WAIT_SECONDS", 0.1)
    monkeypatch.setattr(keys, "finish", _killed)
    assert api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-8")).status == 500
    monkeypatch.setattr(keys, "finish", original)
    pump.drain()
    assert len(gateway.sent) == 12
    soon = api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-8"))
    assert soon.status == 409  # its claim still runs until the lease ends
    at_time("2026-11-26T10:01:01+02:00")
    resumed = api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-8"))
    assert resumed.status == 202 and resumed.body["accepted"] == 12
    pump.drain()
    assert len(gateway.sent) == 12
    assert Company.get(acme.id).credits == 988
    assert api.post("/messages/bulk", acme.member, items, headers=keyed("bulk-8")).body == resumed.body


def test_a_retried_single_send_that_died_after_paying_is_the_same_message(
    api, tenants, pump, gateway, monkeypatch, at_time
):
    acme, _ = tenants
    original = keys.finish
    monkeypatch.setattr(keys, "finish", _killed)
    assert api.post("/messages/send", acme.member, SMS, headers=keyed("one")).status == 500
    monkeypatch.setattr(keys, "finish", original)
    at_time("2026-11-26T10:01:01+02:00")
    resumed = api.post("/messages/send", acme.member, SMS, headers=keyed("one"))
    assert resumed.status == 201
    pump.drain()
    assert len(gateway.sent) == 1 and Company.get(acme.id).credits == 999
    assert api.get(f"/messages/{resumed.body['id']}", acme.member).body["status"] == "sent"


def test_other_creating_routes_take_a_key(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565")
    body = {"title": "Spring", "message": "Hi", "contact_lists": [contact_list.id]}
    first = api.post("/deployments", acme.member, body, headers=keyed("draft-1"))
    again = api.post("/deployments", acme.member, body, headers=keyed("draft-1"))
    assert first.status == again.status == 201 and again.body["id"] == first.body["id"]
    listed = api.get("/deployments", acme.member).body["results"]
    assert [d["id"] for d in listed].count(first.body["id"]) == 1 and len(listed) == 1


def test_an_answer_too_large_for_its_record_is_replayed_from_the_files_bucket(
    api, tenants, pump, gateway, monkeypatch
):
    acme, _ = tenants
    monkeypatch.setattr(keys, "MAX_ANSWER_BYTES", 10)
    items = [{"message": f"Parcel {n}", "destination": f"08158545{n:02d}"} for n in range(5)]
    first = api.post("/messages/bulk", acme.member, items, headers=keyed("large"))
    again = api.post("/messages/bulk", acme.member, items, headers=keyed("large"))
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    assert IdempotencyKey.get(acme.id, "large").answer_file.startswith(f"idempotency/{acme.id}/")
    pump.drain()
    assert len(gateway.sent) == 5


def test_a_file_sent_again_with_another_boundary_is_the_same_request(api, tenants):
    acme, _ = tenants
    body, content_type = multipart({"title": "Shop"}, {"file": ("shop.csv", b"msisdn\n27815854565\n")})
    other_boundary = "another-boundary-from-a-second-curl"
    resent = body.replace(b"colony-test-boundary-7MA4YWxkTrZu0gW", other_boundary.encode())
    first = api.call(
        "POST",
        "/contact-lists/import",
        acme.member,
        raw=body,
        headers={"Content-Type": content_type, **keyed("file-1")},
    )
    again = api.call(
        "POST",
        "/contact-lists/import",
        acme.member,
        raw=resent,
        headers={"Content-Type": f"multipart/form-data; boundary={other_boundary}", **keyed("file-1")},
    )
    assert first.status == again.status == 202
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    assert len(api.get("/imports", acme.member).body["results"]) == 1
    changed = resent.replace(b"27815854565", b"27815854566")
    other = api.call(
        "POST",
        "/contact-lists/import",
        acme.member,
        raw=changed,
        headers={"Content-Type": f"multipart/form-data; boundary={other_boundary}", **keyed("file-1")},
    )
    assert other.status == 422
