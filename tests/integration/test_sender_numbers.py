"""A number that can receive belongs to one company: the operator assigns it, only its owner may send from
it, and an SMS written to it reaches its owner alone. Alphanumeric senders may be shared."""

import json

import pytest

from chalicelib import aws, cli
from chalicelib.domain.contacts import optouts
from chalicelib.domain.errors import Conflict
from chalicelib.models.companies import Company
from chalicelib.settings import get_settings
from tests.factories import create_tenant

NUMBER = "27821234567"
SUBSCRIBER = "27815854565"


pytestmark = pytest.mark.usefixtures("environment_kept")


def run(capsys, *argv):
    code = cli.main(["--stage", "test", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out or err)


def sender(capsys, action, company, number=None):
    more = ("--number", number) if number else ()
    return run(capsys, "sender", action, "--company", str(company.id), *more)


def publish_inbound(text, to=NUMBER, message_id=None):
    """End User Messaging's two-way SMS, as its SNS topic delivers it."""
    arn = f"arn:aws:sns:{get_settings().region}:123456789012:{get_settings().topic('sms-inbound')}"
    body = {"originationNumber": f"+{SUBSCRIBER}", "destinationNumber": f"+{to}", "messageBody": text}
    if message_id:
        body["inboundMessageId"] = message_id
    aws.client("sns").publish(TopicArn=arn, Message=json.dumps(body))


def name_as_sender_before_numbers_were_assigned(company_id, number):
    """A `sender_id` written before this rule existed, as old companies still hold it."""
    Company(id=company_id).update(actions=[Company.sender_id.set(number)])


def test_the_operator_assigns_a_number_to_one_company_only(tenants, capsys):
    acme, bravo = tenants
    assert sender(capsys, "add", acme, "082 123 4567") == (
        0,
        {"company": acme.id, "number": NUMBER, "numbers": [NUMBER], "released_from": []},
    )
    assert sender(capsys, "add", acme, f"+{NUMBER}")[0] == 0  # again: harmless
    code, answer = sender(capsys, "add", bravo, "tel:+27-82-123-4567")
    assert code == 1 and answer["error"]["code"] == "number_taken" and "number" in answer["error"]["fields"]
    assert sender(capsys, "list", bravo) == (0, {"company": bravo.id, "numbers": [], "sender_id": None})
    code, answer = sender(capsys, "remove", bravo, NUMBER)
    assert code == 1 and answer["error"]["code"] == "not_found"
    code, answer = sender(capsys, "add", bravo, "ACME")
    assert code == 1 and "number" in answer["error"]["fields"]  # alphanumeric ids cannot receive: shared
    assert sender(capsys, "list", acme) == (0, {"company": acme.id, "numbers": [NUMBER], "sender_id": None})


def test_removing_a_number_frees_it_and_clears_the_sender_id_it_was(api, tenants, capsys):
    acme, bravo = tenants
    sender(capsys, "add", acme, NUMBER)
    assert api.patch("/company", acme.admin, {"sender_id": NUMBER}).status == 200
    assert sender(capsys, "remove", acme, NUMBER) == (
        0,
        {"company": acme.id, "numbers": [], "sender_id": None},
    )
    assert api.get("/company", acme.admin).body["sender_numbers"] == []
    assert sender(capsys, "add", bravo, NUMBER)[0] == 0


def test_a_company_chooses_only_among_its_own_numbers(api, tenants, capsys):
    acme, bravo = tenants
    sender(capsys, "add", acme, NUMBER)
    mine = api.patch("/company", acme.admin, {"sender_id": "082 123 4567"})
    assert mine.status == 200 and (mine.body["sender_id"], mine.body["sender_numbers"]) == (NUMBER, [NUMBER])
    for claimed in (NUMBER, "0821234567", "+27 82 123 4567", "27820000077"):
        answer = api.patch("/company", bravo.admin, {"sender_id": claimed})
        assert answer.status == 400 and "sender_id" in answer.body["error"]["fields"], (claimed, answer.body)
        assert NUMBER not in json.dumps(answer.body)  # says nothing of whose number it is
    assert Company.get(bravo.id).sender_id is None
    assert api.patch("/company", bravo.admin, {"sender_id": "ACME"}).status == 200
    assert api.patch("/company", acme.admin, {"sender_id": "ACME"}).status == 200  # names may be shared
    assert api.get("/company", bravo.admin).body["sender_numbers"] == []


def test_a_deployment_may_name_only_its_companys_numbers(api, tenants, capsys):
    acme, bravo = tenants
    sender(capsys, "add", acme, NUMBER)
    draft = {"title": "Sale", "message": "Hi", "contact_lists": []}
    theirs = api.post("/deployments", bravo.member, {**draft, "sender": "0821234567"})
    assert theirs.status == 400 and "sender" in theirs.body["error"]["fields"], theirs.body
    made = api.post("/deployments", bravo.member, {**draft, "sender": "BRAVO"})
    assert made.status == 201, made.body
    changed = api.patch(f"/deployments/{made.body['id']}", bravo.member, {"sender": NUMBER})
    assert changed.status == 400 and "sender" in changed.body["error"]["fields"]
    ours = api.post("/deployments", acme.member, {**draft, "sender": "082 123 4567"})
    assert ours.status == 201 and ours.body["sender"] == NUMBER


def test_no_inbound_opt_out_or_confirmation_crosses_to_a_company_that_claimed_the_number(
    api, tenants, capsys, pump, gateway
):
    # Given A owns the number, and B named it as its sender before numbers were assigned
    acme, bravo = tenants
    sender(capsys, "add", acme, NUMBER)
    name_as_sender_before_numbers_were_assigned(bravo.id, NUMBER)
    # When a subscriber writes to it, then says STOP
    publish_inbound("Where is my order?", message_id="in-1")
    publish_inbound("STOP", message_id="in-2")
    pump.drain()
    # Then only A reads the reply, only A loses the subscriber, and one confirmation goes, from A
    assert [m["text"] for m in api.get("/inbound", acme.member).body["results"]] == ["Where is my order?"]
    assert api.get("/inbound", bravo.member).body["results"] == []
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == {SUBSCRIBER}
    assert optouts.opted_out(bravo.id, None, [SUBSCRIBER]) == set()
    assert api.get(f"/optouts?originator={SUBSCRIBER}", bravo.member).body["results"] == []
    assert [(s.to, s.sender) for s in gateway.sent] == [(SUBSCRIBER, NUMBER)]
    assert [m["destination"] for m in api.get("/messages", bravo.member).body["results"]] == []


def test_a_webhook_reporting_another_companys_number_confirms_from_the_companys_own_sender(
    api, tenants, capsys, pump, gateway
):
    acme, bravo = tenants
    sender(capsys, "add", acme, NUMBER)
    api.patch("/company", bravo.admin, {"sender_id": "BRAVO"})
    answer = api.post(
        f"/webhooks/inbound/{bravo.company.webhook_token}",
        json_body={"from": SUBSCRIBER, "to": NUMBER, "text": "STOP"},
    )
    assert answer.body == {"outcome": "opted_out"}
    pump.drain()
    assert [(s.to, s.sender) for s in gateway.sent] == [(SUBSCRIBER, "BRAVO")]
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == set()


def test_assigning_a_number_takes_it_from_companies_that_only_named_it(api, tenants, capsys, pump):
    acme, bravo = tenants
    name_as_sender_before_numbers_were_assigned(acme.id, NUMBER)
    name_as_sender_before_numbers_were_assigned(bravo.id, NUMBER)
    publish_inbound("STOP")  # two companies name it and none owns it: neither may have it
    pump.drain()
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == set()
    assert optouts.opted_out(bravo.id, None, [SUBSCRIBER]) == set()
    code, answer = sender(capsys, "add", acme, NUMBER)
    assert code == 0 and answer["released_from"] == [bravo.id]
    assert (Company.get(acme.id).sender_id, Company.get(bravo.id).sender_id) == (NUMBER, None)
    publish_inbound("STOP")
    pump.drain()
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == {SUBSCRIBER}
    assert optouts.opted_out(bravo.id, None, [SUBSCRIBER]) == set()


def test_a_number_named_before_numbers_were_assigned_keeps_working_for_its_one_company(api, tenants, pump):
    acme, _ = tenants
    name_as_sender_before_numbers_were_assigned(acme.id, NUMBER)
    kept = api.patch("/company", acme.admin, {"sender_id": NUMBER, "name": "Acme again"})
    assert kept.status == 200 and kept.body["sender_id"] == NUMBER  # sent back unchanged: accepted
    publish_inbound("STOP")
    pump.drain()
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == {SUBSCRIBER}
    assert api.patch("/company", acme.admin, {"sender_id": "27820000077"}).status == 400


def test_a_company_created_with_a_number_owns_it_and_no_other_company_can_be(aws):
    first = create_tenant("Juliet", sender_id="0821234567")
    assert Company.get(first.id).sender_numbers == {NUMBER}
    with pytest.raises(Conflict) as taken:
        create_tenant("Kilo", sender_id=f"+{NUMBER}")
    assert taken.value.code == "number_taken" and "sender_id" in taken.value.fields


def test_a_number_a_live_deployment_sends_from_cannot_be_removed(api, tenants):
    from chalicelib.domain.accounts import sender_numbers
    from tests.factories import approved_deployment, later

    acme, _ = tenants
    sender_numbers.assign(acme.id, NUMBER)
    Company(id=acme.id).update(actions=[Company.sender_id.set(NUMBER)])
    deployment_id = approved_deployment(api, acme, [SUBSCRIBER], send_date=later(days=2))
    with pytest.raises(Conflict) as refused:
        sender_numbers.remove(acme.id, NUMBER)
    assert refused.value.code == "in_use" and str(deployment_id) in refused.value.message
    assert api.post(f"/deployments/{deployment_id}/cancel", acme.member).status == 200
    assert NUMBER not in (sender_numbers.remove(acme.id, NUMBER).sender_numbers or set())
