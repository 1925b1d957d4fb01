"""Erasure of a person (POPIA): after it no table and no file of the company holds their number or
address in any spelling, counts and statuses stay true, and an opt-out they had still blocks them."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from chalicelib import aws, storage
from chalicelib.domain.contacts import optouts
from chalicelib.domain.privacy import erasures
from chalicelib.models.contacts import Contact, ContactList
from chalicelib.models.deployments import Deployment, Message, Recipient
from chalicelib.models.erasures import Erasure
from chalicelib.settings import TABLES, get_settings
from tests.factories import create_contact_list, create_contacts, create_optout, pending_deployment
from tests.integration.test_callbacks import receiver, subscribe

__all__ = ["receiver"]  # the fixture, shared with test_callbacks

NUMBER = "27815854565"
SPELLINGS = ("27815854565", "+27815854565", "0815854565", "081 585 4565", "+27 81 585 4565", "0027815854565")
OTHER = "27820000009"
ADDRESS = "Ann.Person@Example.com"


def _strings(value: Any) -> list[str]:
    """Every text a stored value holds: strings, numbers, zlib'd bytes, nested maps and lists."""
    if isinstance(value, dict):
        return [text for name, inner in value.items() for text in [name, *_strings(inner)]]
    if isinstance(value, list):
        return [text for inner in value for text in _strings(inner)]
    if isinstance(value, bytes):
        try:
            return [zlib.decompress(value).decode("utf-8", "replace")]
        except zlib.error:
            return [value.decode("utf-8", "replace")]
    return [str(value)]


def tables_naming(spellings: tuple[str, ...]) -> dict[str, int]:
    """For every table of Colony (a full Scan, every attribute, recursively): how many items hold one
    of `spellings` (compared without case)."""
    client, found = aws.client("dynamodb"), {}
    wanted = [s.lower() for s in spellings]
    for table in TABLES:
        for page in client.get_paginator("scan").paginate(TableName=get_settings().table(table)):
            for item in page["Items"]:
                texts = [t.lower() for t in _strings(item)]
                if any(w in t for t in texts for w in wanted):
                    found[table] = found.get(table, 0) + 1
    return found


def files_naming(spellings: tuple[str, ...]) -> list[str]:
    """Every object in the bucket (zlib'd ones unpacked) that holds one of `spellings`, without case."""
    wanted = [s.lower() for s in spellings]
    return [
        key
        for key in storage.keys_under("")
        if any(w in _strings(storage.get(key))[0].lower() for w in wanted)
    ]


def erase(api, tenant, pump, **person: str) -> dict[str, Any]:
    answer = api.post("/erasures", tenant.admin, person)
    assert answer.status == 202, answer.body
    assert answer.body["erasure"]["status"] == "pending" and answer.body["task"]["kind"] == "erase_person"
    pump.drain()
    done = api.get(f"/erasures/{answer.body['erasure']['id']}", tenant.admin)
    assert done.status == 200 and done.body["status"] == "completed", done.body
    return done.body


def post_inbound(api, tenant, sender: str, text: str) -> None:
    answer = api.post(
        f"/webhooks/inbound/{tenant.company.webhook_token}",
        json_body={"from": sender, "to": "27820000001", "text": text},
    )
    assert answer.status == 200, answer.body


@pytest.fixture
def person_everywhere(api, tenants, pump, gateway, receiver):
    """Acme holds the person in every place a person can be: two lists (with another contact), a sent
    deployment with delivery receipts, an API message sent with an Idempotency-Key, an inbound text and a
    STOP, the callback events of all of those, a list export and a deployment report."""
    acme, _ = tenants
    subscribe(api, acme, receiver())
    lists = [create_contact_list(acme.id, title) for title in ("Customers", "Winners")]
    for contact_list in lists:
        create_contacts(acme.id, contact_list.id, "081 585 4565", OTHER, first_name="Ann", city="Cape Town")
    deployment = pending_deployment(acme, [c.id for c in lists], message="Hi {{first_name}} on {{msisdn}}")
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    for recipient in Recipient.query(deployment.id):
        receipt = {"id": recipient.provider_id, "status": "delivered"}
        assert api.post(f"/webhooks/status/{acme.company.webhook_token}", json_body=receipt).status == 200
    sent = api.post(
        "/messages/send",
        acme.member,
        {"message": "Your code is 1234", "destination": "+27 81 585 4565"},
        headers={"Idempotency-Key": "order-1"},
    )
    assert sent.status == 201, sent.body
    post_inbound(api, acme, "0815854565", "Please call me on 081 585 4565")
    post_inbound(api, acme, "+27815854565", "STOP")
    assert api.post(f"/contact-lists/{lists[0].id}/export", acme.member).status == 202
    assert api.post(f"/deployments/{deployment.id}/report", acme.member).status == 202
    pump.drain()
    return acme, lists, deployment


def test_after_an_erasure_no_table_or_file_holds_the_number_in_any_spelling(
    api, tenants, pump, person_everywhere
):
    acme, lists, deployment = person_everywhere
    before = tables_naming(SPELLINGS)
    places = ("contacts", "recipients", "messages", "inbound", "callbacks", "optouts", "suppressions")
    assert set(before) == {*places, "idempotency-keys"}  # the kept answer, zlib'd in its item
    assert len(files_naming(SPELLINGS)) == 2  # the export and the report
    counts_before = Deployment.get(acme.id, deployment.id)
    statuses_before = sorted(r.status for r in Recipient.query(deployment.id))

    record = erase(api, acme, pump, msisdn="+27 81 585 4565")

    assert tables_naming(SPELLINGS) == {}
    assert files_naming(SPELLINGS) == []
    assert sorted(r.status for r in Recipient.query(deployment.id)) == statuses_before
    after = Deployment.get(acme.id, deployment.id)
    assert (after.sent_count, after.delivered_count, after.total_contacts) == (
        counts_before.sent_count,
        counts_before.delivered_count,
        counts_before.total_contacts,
    )
    assert [ContactList.get(acme.id, c.id).contact_count for c in lists] == [1, 1]
    assert [c.msisdn for c in Contact.query(lists[0].id)] == [OTHER]
    erased = [r for r in Recipient.query(deployment.id) if r.msisdn.startswith("erased:")]
    assert len(erased) == 1 and erased[0].msisdn == record["person"] and erased[0].first_name is None
    assert all(m.destination == record["person"] for m in Message.query(acme.id) if m.destination != OTHER)
    counts = record["counts"]
    assert (counts["contacts_removed"], counts["lists_touched"], counts["recipients_rewritten"]) == (2, 2, 1)
    assert counts["messages_rewritten"] >= 1 and counts["inbound_rewritten"] == 1
    assert counts["callbacks_rewritten"] >= 2 and counts["optouts_rewritten"] == 1
    assert counts["files_deleted"] == 2 and len(record["files_deleted"]) == 2
    assert record["suppression_kept"] is True and record["requested_by"] == acme.admin.user.id
    assert NUMBER not in str(record) and record["person"].startswith("erased:")


def test_an_erased_person_who_had_opted_out_stays_blocked_when_imported_or_sent_again(
    api, tenants, pump, gateway
):
    acme, _ = tenants
    create_optout(acme.id, NUMBER, reason="asked")
    erase(api, acme, pump, msisdn="0815854565")
    assert optouts.opted_out(acme.id, None, [NUMBER]) == {NUMBER}
    assert optouts.opted_out(acme.id, "ACME", [NUMBER, OTHER]) == {NUMBER}
    assert optouts.opted_out_of_any(acme.id, [NUMBER]) == {NUMBER}
    again = create_contact_list(acme.id)
    create_contacts(acme.id, again.id, NUMBER, OTHER)
    deployment = pending_deployment(acme, [again.id])
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    assert {r.msisdn: r.status for r in Recipient.query(deployment.id)}[NUMBER] == "opted_out"
    marketing = {"message": "Sale", "destination": "081 585 4565", "marketing": True}
    blocked = api.post("/messages/send", acme.member, marketing)
    assert blocked.status == 201, blocked.body
    pump.drain()
    assert api.get(f"/messages/{blocked.body['id']}", acme.member).body["status"] == "opted_out"
    assert NUMBER not in {sms.to for sms in gateway.sent}


def test_an_erasure_without_an_opt_out_keeps_no_suppression_and_counts_what_it_did(api, tenants, pump):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, NUMBER)
    record = erase(api, acme, pump, msisdn=NUMBER)
    assert record["suppression_kept"] is False
    assert record["counts"] == {
        **dict.fromkeys(erasures.COUNTS, 0),
        "contacts_removed": 1,
        "lists_touched": 1,
    }
    assert record["files_deleted"] == [] and optouts.opted_out(acme.id, None, [NUMBER]) == set()
    listed = api.get("/erasures", acme.admin).body["results"]
    assert [e["id"] for e in listed] == [record["id"]]
    assert Erasure.get(acme.id, record["id"]).pending_key is None
    (audited,) = api.get(f"/audit?object=erasure:{record['id']}", acme.admin).body["results"]
    assert (audited["action"], audited["actor"]) == ("erasure.requested", acme.admin.user.id)
    assert audited["changes"]["person"] == {"before": None, "after": record["person"]}


def test_an_erasure_by_address_leaves_it_in_no_table_in_any_case(api, tenants, pump):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, OTHER, email=ADDRESS)
    assert api.post("/optouts", acme.admin, {"originator": ADDRESS, "channel": "email"}).status == 201
    assert {"contacts", "optouts", "suppressions"} <= set(tables_naming((ADDRESS,)))
    record = erase(api, acme, pump, email=ADDRESS.upper())
    assert tables_naming((ADDRESS,)) == {}
    assert record["channel"] == "email" and record["suppression_kept"] is True
    assert optouts.opted_out(acme.id, None, [ADDRESS.lower()]) == {ADDRESS.lower()}


@pytest.mark.parametrize("role", ["member", "approver"])
def test_only_an_admin_may_erase_or_read_erasures(api, tenants, pump, role):
    acme, _ = tenants
    record = erase(api, acme, pump, msisdn=NUMBER)
    caller = acme.as_role(role)
    assert api.post("/erasures", caller, {"msisdn": NUMBER}).status == 403
    assert api.get("/erasures", caller).status == 403
    assert api.get(f"/erasures/{record['id']}", caller).status == 403


def test_another_companys_erasure_is_404_and_leaves_this_company_alone(api, tenants, pump):
    acme, bravo = tenants
    ours = create_contact_list(acme.id)
    create_contacts(acme.id, ours.id, NUMBER)
    create_optout(acme.id, NUMBER)
    theirs = erase(api, bravo, pump, msisdn=NUMBER)
    assert api.get(f"/erasures/{theirs['id']}", acme.admin).status == 404
    assert api.get("/erasures", acme.admin).body["results"] == []
    assert [c.msisdn for c in Contact.query(ours.id)] == [NUMBER]
    assert optouts.opted_out(acme.id, None, [NUMBER]) == {NUMBER}
    assert set(theirs["counts"].values()) == {0} and theirs["suppression_kept"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "msisdn"),
        ({"msisdn": "12"}, "msisdn"),
        ({"msisdn": "not a number"}, "msisdn"),
        ({"email": "not-an-address"}, "email"),
        ({"msisdn": NUMBER, "email": ADDRESS}, "email"),
        ({"msisdn": ["27815854565"]}, "msisdn"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_starts_nothing(api, tenants, body, field):
    acme, _ = tenants
    answer = api.post("/erasures", acme.admin, body)
    assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body
    assert NUMBER not in answer.text
    assert api.get("/erasures", acme.admin).body["results"] == []
    assert api.get("/erasures/x", acme.admin).status in (400, 404)


def test_a_status_written_while_the_erasure_runs_is_kept_on_the_rewritten_row(
    api, tenants, pump, monkeypatch
):
    """The rewrite is conditional on the row's status sequence: a receipt that lands between the
    erasure's read and its write makes it read the row again, so the receipt is not undone."""
    from chalicelib.domain.privacy import erase_records
    from tests.factories import create_recipient

    acme, _ = tenants
    deployment = pending_deployment(acme, [create_contact_list(acme.id).id])
    create_recipient(deployment, NUMBER, status="sent", seq=1)
    real = erase_records.partition

    def stale(table, name, value):
        items = list(real(table, name, value))
        if table == Recipient.Meta.table_name:
            row = Recipient.get(deployment.id, NUMBER)
            row.update(actions=[Recipient.status.set("delivered"), Recipient.seq.add(1)])
        yield from items

    monkeypatch.setattr(erase_records, "partition", stale)
    record = erase(api, acme, pump, msisdn=NUMBER)
    (row,) = Recipient.query(deployment.id)
    assert (row.msisdn, row.status, row.seq) == (record["person"], "delivered", 2)
    assert record["counts"]["recipients_rewritten"] == 1


def test_a_second_erasure_of_the_same_person_keeps_the_opt_outs_of_both(api, tenants, pump):
    acme, _ = tenants
    create_optout(acme.id, NUMBER)  # of every sender
    erase(api, acme, pump, msisdn=NUMBER)
    create_optout(acme.id, NUMBER, sender="ACME")  # back (say, by an import) and out of one sender
    erase(api, acme, pump, msisdn=NUMBER)
    assert optouts.opted_out(acme.id, "OTHER", [NUMBER]) == {NUMBER}
    assert optouts.opted_out(acme.id, "ACME", [NUMBER]) == {NUMBER}
    assert tables_naming(SPELLINGS) == {}


def test_an_erasure_whose_task_gives_up_says_so_and_forgets_the_number(api, tenants):
    from chalicelib.domain.background import tasks
    from chalicelib.domain.background.kinds import ON_FAILURE

    acme, _ = tenants
    started = api.post("/erasures", acme.admin, {"msisdn": NUMBER}).body
    assert Erasure.get(acme.id, started["erasure"]["id"]).pending_key == NUMBER  # only while it runs
    tasks.fail(acme.id, started["task"]["id"], "The task could not be finished (timeout).", ON_FAILURE)
    failed = api.get(f"/erasures/{started['erasure']['id']}", acme.admin).body
    assert (failed["status"], failed["error"]) == ("failed", "The task could not be finished (timeout).")
    assert Erasure.get(acme.id, failed["id"]).pending_key is None
