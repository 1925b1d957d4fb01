"""Erasure and retention at their edges: whole spellings only, every spelling the importer reads, every
table, imports, sends and callbacks under way, a START after the erasure, and a message that never
settles."""

from __future__ import annotations

import json
from datetime import timedelta

from chalicelib import storage
from chalicelib.domain import clock
from chalicelib.domain.sending.outgoing import ERASED_ERROR
from chalicelib.models.companies import Company
from chalicelib.models.contacts import Contact, ContactList
from chalicelib.models.deployments import Message, Recipient
from chalicelib.models.optouts import OptOut
from chalicelib.workers.tasks import BUSY_DELAY_SECONDS
from tests.factories import create_contact_list, create_contacts
from tests.integration.test_callbacks import receiver
from tests.integration.test_erasures import NUMBER, OTHER, erase, tables_naming
from tests.integration.test_imports import import_file, post_file

__all__ = ["receiver"]  # the fixture, shared with test_callbacks

SECOND = "27820000010"


def test_erasing_an_address_leaves_a_contact_whose_address_merely_ends_in_it(api, tenants, pump):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, OTHER, email="joann@example.com")
    create_contacts(acme.id, contact_list.id, SECOND, email="ann@example.com")
    erase(api, acme, pump, email="ann@example.com")
    kept = {c.msisdn: c.email for c in Contact.query(contact_list.id)}
    assert kept == {OTHER: "joann@example.com"}
    assert ContactList.get(acme.id, contact_list.id).contact_count == 1


def test_erasing_an_address_leaves_an_opt_out_of_another_address_alone(api, tenants, pump):
    from chalicelib.domain.contacts import optouts

    acme, _ = tenants
    other = "ann@example.com.au"
    assert api.post("/optouts", acme.admin, {"originator": other, "channel": "email"}).status == 201
    erase(api, acme, pump, email="ann@example.com")
    listed = api.get("/optouts", acme.admin).body["results"]
    assert [o["originator"] for o in listed] == [other], listed
    assert optouts.opted_out(acme.id, None, [other]) == {other}


def test_an_upload_spelling_the_number_with_an_en_dash_is_deleted_by_the_erasure(api, tenants, pump):
    """The importer reads `081\u2013585\u20134565` (en dashes) as the person's number; so does the
    erasure, which deletes the upload."""
    acme, _ = tenants
    data = "Mobile Number,First Name\n081\u2013585\u20134565,Ann\n0820000009,Bob\n".encode()
    job = import_file(api, pump, acme.member, "people.csv", data)
    assert job["imported"] == 2, job
    record = erase(api, acme, pump, msisdn=NUMBER)
    assert record["counts"]["contacts_removed"] == 1
    left = [k for k in storage.keys_under(f"uploads/{acme.id}/") if "4565" in storage.get(k).decode()]
    assert left == [], "the upload naming the person was kept"


def test_a_list_titled_with_the_persons_number_is_renamed_by_the_erasure(api, tenants, pump):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id, "Ann 081 585 4565")
    create_contacts(acme.id, contact_list.id, NUMBER, OTHER)
    erase(api, acme, pump, msisdn=NUMBER)
    assert tables_naming(("081 585 4565", NUMBER)) == {}


def test_an_import_still_running_when_the_person_is_erased_finishes_for_everyone_else(
    api, tenants, pump, monkeypatch, queue_delays
):
    """An erasure asked for between two invocations of an import waits (the task comes back later)
    until the import has finished: everyone else is imported, then the person and the upload go."""
    acme, _ = tenants
    monkeypatch.setenv("COLONY_IMPORT_ROWS_PER_INVOCATION", "100")
    rows = ["Mobile Number,First Name", "0815854565,Ann", "081 585 4565,Ann again"]
    rows += [f"08200{n:05d},Name{n}" for n in range(250)]
    started = post_file(api, acme.member, "big.csv", "\n".join(rows).encode())
    assert started.status == 202, started.body
    imports = next(q for q in pump.pump.queues if q.name == "imports_worker")
    assert pump.pump.deliver(imports).received  # the first invocation: Ann imported, her duplicate held
    answer = api.post("/erasures", acme.admin, {"msisdn": NUMBER})
    assert answer.status == 202
    pump.drain()
    done = api.get(f"/erasures/{answer.body['erasure']['id']}", acme.admin).body
    assert done["status"] == "completed", done
    assert tables_naming(("27815854565", "081 585 4565", "0815854565")) == {}
    assert BUSY_DELAY_SECONDS in queue_delays  # the erasure came back later, once at least
    job = api.get(f"/imports/{started.body['id']}", acme.member).body
    assert job["status"] == "completed", job
    others = [c for c in Contact.query(job["contact_list"]) if c.msisdn.startswith("2782")]
    assert len(others) == 250


def test_an_upload_in_utf16_naming_the_person_is_deleted_by_the_erasure(api, tenants, pump):
    """The erasure decodes an upload as the importer does: a UTF-16 file (Excel's "Unicode text") naming
    the person is deleted."""
    acme, _ = tenants
    data = "Mobile Number\tFirst Name\r\n0815854565\tAnn\r\n0820000009\tBob\r\n".encode("utf-16")
    job = import_file(api, pump, acme.member, "people.txt", data)
    assert job["imported"] == 2, job
    record = erase(api, acme, pump, msisdn=NUMBER)
    assert record["counts"]["contacts_removed"] == 1
    assert record["counts"]["uploads_deleted"] == 1, record["counts"]
    assert list(storage.keys_under(f"uploads/{acme.id}/")) == []


def test_a_message_stuck_queued_does_not_keep_every_later_text_past_retention(api, tenants, pump, at_time):
    """A message that never settles (its send went to the dead-letter queue) is set aside: later
    messages lose their text on time, and the stuck one loses it the night after it settles."""
    acme, _ = tenants
    stuck = api.post("/messages/send", acme.member, {"message": "Stuck 1111", "destination": "0815854565"})
    later = api.post("/messages/send", acme.member, {"message": "Code 2222", "destination": "0815854565"})
    assert stuck.status == later.status == 201
    pump.drain()
    Message.get(acme.id, stuck.body["id"]).update(actions=[Message.status.set("queued")])
    at_time(clock.iso(clock.now() + timedelta(days=91)))
    from chalicelib.workers import retention

    retention.handle({})
    assert Message.get(acme.id, later.body["id"]).text is None, "a text kept past retention"
    assert Message.get(acme.id, stuck.body["id"]).text == "Stuck 1111"
    Message.get(acme.id, stuck.body["id"]).update(actions=[Message.status.set("failed")])
    at_time(clock.iso(clock.now() + timedelta(days=1)))
    retention.handle({})
    assert Message.get(acme.id, stuck.body["id"]).text is None, "a message set aside was lost"
    assert Company.get(acme.id).bodies_unsettled is None


def test_an_erasure_while_a_deployment_is_sending_never_sends_to_the_token(api, tenants, pump, gateway):
    """The send queue's chunks were written before the erasure re-keyed the person's row: the sender
    fails the row (it was erased) and never gives the gateway the token; the other person is sent to."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, NUMBER, OTHER, first_name="Ann")
    from tests.factories import pending_deployment

    deployment = pending_deployment(acme, [contact_list.id], message="Hi {{first_name}}")
    credits_before = Company.get(acme.id).credits
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    tasks_queue = next(q for q in pump.pump.queues if q.name == "tasks_worker")
    while pump.pump.deliver(tasks_queue).received:  # the fan-out (not the sends) happens first
        pass
    answer = api.post("/erasures", acme.admin, {"msisdn": NUMBER})
    assert answer.status == 202
    while pump.pump.deliver(tasks_queue).received:  # the erasure, before any send
        pass
    pump.drain()
    done = api.get(f"/erasures/{answer.body['erasure']['id']}", acme.admin).body
    assert done["status"] == "completed", done
    shown = api.get(f"/deployments/{deployment.id}", acme.member).body
    assert shown["status_name"] in ("sent", "failed"), shown
    assert tables_naming((NUMBER, "0815854565")) == {}
    destinations = [sms.to for sms in gateway.sent]
    assert not [d for d in destinations if d.startswith("erased:")], destinations
    assert destinations == [OTHER]
    rows = {r.msisdn: r for r in Recipient.query(deployment.id)}
    erased_row = rows[answer.body["erasure"]["person"]]
    assert (erased_row.status, erased_row.error) == ("failed", ERASED_ERROR)
    assert rows[OTHER].status == "sent"
    assert Company.get(acme.id).credits == credits_before - rows[OTHER].segments  # the erased row refunded


def test_an_erased_person_who_texts_start_is_opted_back_in(api, tenants, pump):
    """The suppression kept under the token blocks marketing after the erasure, and the person's own
    START lifts it."""
    from chalicelib.domain.contacts import optouts
    from tests.factories import create_optout
    from tests.integration.test_erasures import post_inbound

    acme, _ = tenants
    create_optout(acme.id, NUMBER)
    erase(api, acme, pump, msisdn=NUMBER)
    assert optouts.opted_out(acme.id, None, [NUMBER]) == {NUMBER}
    post_inbound(api, acme, "0815854565", "START")
    pump.drain()
    assert optouts.opted_out(acme.id, None, [NUMBER]) == set()


def test_a_callback_event_queued_before_the_erasure_is_not_recorded_with_the_number_after_it(
    api, tenants, pump, gateway, receiver
):
    """A send's `message.status` event is on the callbacks queue (its body holds the number) when the
    erasure runs: the worker finds the erasure's tombstone and records and POSTs it with the token."""
    from tests.integration.test_callbacks import subscribe

    acme, _ = tenants
    endpoint = receiver()
    subscribe(api, acme, endpoint)
    sent = api.post("/messages/send", acme.member, {"message": "Hi", "destination": "0815854565"})
    assert sent.status == 201
    _deliver_only(pump, "send_worker")  # the event is queued, not yet recorded
    answer = api.post("/erasures", acme.admin, {"msisdn": NUMBER})
    _deliver_only(pump, "tasks_worker")  # the erasure completes
    assert api.get(f"/erasures/{answer.body['erasure']['id']}", acme.admin).body["status"] == "completed"
    pump.drain()
    assert tables_naming((NUMBER, "0815854565")) == {}
    (posted,) = endpoint.accepted("message.status")
    assert posted["data"]["msisdn"] == answer.body["erasure"]["person"], posted
    assert NUMBER not in json.dumps(posted)


def _deliver_only(pump, name: str) -> None:
    source = next(q for q in pump.pump.queues if q.name == name)
    while pump.pump.deliver(source).received:
        pass


def test_an_api_message_queued_before_the_erasure_fails_as_erased_and_is_refunded(
    api, tenants, pump, gateway
):
    acme, _ = tenants
    credits_before = Company.get(acme.id).credits
    sent = api.post("/messages/send", acme.member, {"message": "Hi", "destination": "0815854565"})
    assert sent.status == 201
    assert api.post("/erasures", acme.admin, {"msisdn": NUMBER}).status == 202
    _deliver_only(pump, "tasks_worker")  # the erasure, before the send
    pump.drain()
    message = Message.get(acme.id, sent.body["id"])
    assert (message.status, message.error) == ("failed", ERASED_ERROR)
    assert gateway.sent == []
    assert Company.get(acme.id).credits == credits_before


def test_an_opt_out_import_finds_an_erased_persons_kept_suppression(api, tenants, pump):
    """The number is out already (under the token): the import adds no second opt-out naming them."""
    from tests.factories import create_optout
    from tests.integration.test_optouts_api import _post_optouts

    acme, _ = tenants
    create_optout(acme.id, NUMBER)
    erase(api, acme, pump, msisdn=NUMBER)
    started = _post_optouts(api, acme.member, b"number\r\n0815854565\r\n0820000009\r\n")
    assert started.status == 202
    pump.drain()
    assert api.get(f"/imports/{started.body['id']}", acme.member).body["status"] == "completed"
    originators = sorted(o.originator for o in OptOut.query(acme.id))
    assert originators[0] == "27820000009" and originators[1].startswith("erased:"), originators
    assert len(originators) == 2
