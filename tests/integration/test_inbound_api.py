"""Inbound SMS: STOP and START act at once and for free, other text is kept; the token is the only key."""

import collections
import json

import pytest

from chalicelib import aws
from chalicelib.domain.contacts import optouts
from chalicelib.domain.inbound import keywords
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Message, Recipient
from chalicelib.settings import get_settings
from tests.factories import create_contact_list, create_contacts, create_tenant, pending_deployment

SUBSCRIBER = "27815854565"
SHORT_CODE = "27820000001"


def post_inbound(api, tenant, **fields):
    return api.post(f"/webhooks/inbound/{tenant.company.webhook_token}", json_body=fields)


def history(api, tenant, number=SUBSCRIBER):
    """The number's opt-outs, newest first, as the company reads them."""
    return api.get(f"/optouts?originator={number}", tenant.member).body["results"]


def replies(company_id):
    return [m for m in Message.query(company_id) if m.credits == 0]


def test_stop_start_stop_keeps_the_history_and_confirms_each_for_free(api, tenants, pump, gateway):
    acme, _ = tenants
    for text, outcome in (("STOP", "opted_out"), ("start", "opted_in"), (" Stop. ", "opted_out")):
        answer = post_inbound(api, acme, **{"from": "+27 81 585 4565", "to": SHORT_CODE, "text": text})
        assert answer.status == 200, answer.body
        assert answer.body == {"outcome": outcome}
    newest, oldest = history(api, acme)
    assert newest["active"] and newest["reason"] == "Replied STOP" and newest["source"] == "keyword"
    assert newest["sender"] is None  # the company keeps one opt-out for all its senders
    assert not oldest["active"] and oldest["overwrite_source"] == "subscriber"
    assert oldest["overwritten_by"] is None
    assert optouts.opted_out(acme.id, "ANY", [SUBSCRIBER]) == {SUBSCRIBER}
    pump.drain()
    company = Company.get(acme.id)
    assert [(s.to, s.sender, s.text, s.marketing) for s in gateway.sent] == [
        (SUBSCRIBER, SHORT_CODE, company.stop_reply, False),
        (SUBSCRIBER, SHORT_CODE, company.start_reply, False),
        (SUBSCRIBER, SHORT_CODE, company.stop_reply, False),
    ]
    assert company.credits == 1000
    assert {m.status for m in replies(acme.id)} == {"sent"}


@pytest.mark.parametrize("text", ["stop", "STOP!", " 'Stop' ", "opt-out", "Unsubscribe", "S T O P", "td"])
def test_stop_keywords_opt_out(api, tenants, text):
    acme, _ = tenants
    assert post_inbound(api, acme, **{"from": SUBSCRIBER, "text": text}).body == {"outcome": "opted_out"}
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == {SUBSCRIBER}


@pytest.mark.parametrize(
    "text", ["STOP" + " " * 40, "STOP STOP", "Stop \U0001f6d1", "ARR\u00caT", "please stop"]
)
def test_stop_in_the_forms_people_type_opts_out(api, tenants, text):
    acme, _ = tenants
    answer = post_inbound(api, acme, **{"from": SUBSCRIBER, "to": SHORT_CODE, "text": text})
    assert answer.body == {"outcome": "opted_out"}
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == {SUBSCRIBER}
    assert api.get("/inbound", acme.member).body["results"] == []


def test_an_afrikaans_stop_opts_out_at_a_south_african_company(api, tenants):
    acme, _ = tenants
    assert Company.get(acme.id).default_region == "ZA"
    answer = post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "Kanselleer asseblief"})
    assert answer.body == {"outcome": "opted_out"}
    (record,) = history(api, acme)
    assert record["reason"] == "Replied KANSELLEER"


@pytest.mark.parametrize("text", ["don't stop", "Stop sending me these", "yes please", "hello"])
def test_a_sentence_is_kept_not_obeyed(api, tenants, text):
    acme, _ = tenants
    assert post_inbound(api, acme, **{"from": SUBSCRIBER, "to": SHORT_CODE, "text": text}).body == {
        "outcome": "stored"
    }
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == set()
    (kept,) = api.get("/inbound", acme.member).body["results"]
    assert (kept["originator"], kept["destination"], kept["text"]) == (SUBSCRIBER, SHORT_CODE, text)


def test_per_sender_opt_outs_block_only_the_number_written_to(api, aws, pump, gateway):
    tenant = create_tenant("Delta", optout_scope="sender")
    answer = post_inbound(api, tenant, **{"from": SUBSCRIBER, "to": f"+{SHORT_CODE}", "text": "STOP"})
    assert answer.body == {"outcome": "opted_out"}
    (record,) = history(api, tenant)
    assert record["sender"] == SHORT_CODE
    assert optouts.opted_out(tenant.id, SHORT_CODE, [SUBSCRIBER]) == {SUBSCRIBER}
    assert optouts.opted_out(tenant.id, "27820000002", [SUBSCRIBER]) == set()
    # START to another number lifts nothing there: it is an ordinary reply, and kept.
    other = post_inbound(api, tenant, **{"from": SUBSCRIBER, "to": "27820000002", "text": "START"})
    assert other.body == {"outcome": "stored"}
    assert optouts.opted_out(tenant.id, SHORT_CODE, [SUBSCRIBER]) == {SUBSCRIBER}
    back = post_inbound(api, tenant, **{"from": SUBSCRIBER, "to": SHORT_CODE, "text": "UNSTOP"})
    assert back.body == {"outcome": "opted_in"}
    assert optouts.opted_out(tenant.id, SHORT_CODE, [SUBSCRIBER]) == set()


def test_start_lifts_an_opt_out_of_every_sender_even_in_per_sender_mode(api, aws):
    tenant = create_tenant("Echo", optout_scope="sender")
    optouts.create(tenant.id, SUBSCRIBER, None, "asked by phone", source="api")
    answer = post_inbound(api, tenant, **{"from": SUBSCRIBER, "to": SHORT_CODE, "text": "START"})
    assert answer.body == {"outcome": "opted_in"}
    assert optouts.opted_out(tenant.id, SHORT_CODE, [SUBSCRIBER]) == set()


def test_a_flood_of_keywords_makes_one_opt_out_and_spends_nothing(api, tenants, pump, gateway):
    acme, _ = tenants
    outcomes = collections.Counter(
        post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "STOP"}).body["outcome"] for _ in range(20)
    )
    assert outcomes == {"opted_out": 1, "already_opted_out": 19}
    assert len(history(api, acme)) == 1
    for _ in range(5):
        post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "START"})
        post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "STOP"})
    pump.drain()
    assert len(gateway.sent) == keywords.REPLIES_A_DAY  # confirmations, however many keywords come
    assert Company.get(acme.id).credits == 1000
    assert all(m.credits == 0 for m in Message.query(acme.id))


def test_confirmations_can_be_switched_off_and_reworded(api, tenants, pump, gateway):
    acme, _ = tenants
    answer = api.patch("/company", acme.admin, {"keyword_replies": False})
    assert answer.status == 200 and answer.body["keyword_replies"] is False
    post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "STOP"})
    pump.drain()
    assert gateway.sent == [] and replies(acme.id) == []
    answer = api.patch("/company", acme.admin, {"keyword_replies": True, "start_reply": "Welcome back!"})
    assert answer.status == 200, answer.body
    post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "START"})
    pump.drain()
    assert [s.text for s in gateway.sent] == ["Welcome back!"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"optout_scope": "everyone"}, "optout_scope"),
        ({"stop_reply": "  "}, "stop_reply"),
        ({"start_reply": "x" * 161}, "start_reply"),
        ({"keyword_replies": "yes"}, "keyword_replies"),
    ],
)
def test_bad_keyword_settings_are_400_by_field(api, tenants, change, field):
    acme, _ = tenants
    answer = api.patch("/company", acme.admin, change)
    assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body


def test_a_gateway_sending_the_same_sms_twice_is_kept_once(api, tenants):
    acme, _ = tenants
    first = post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "Where is my order?", "id": "in-1"})
    again = post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "Where is my order?", "id": "in-1"})
    assert (first.body, again.body) == ({"outcome": "stored"}, {"outcome": "duplicate"})
    assert len(api.get("/inbound", acme.member).body["results"]) == 1


def test_a_twilio_style_form_post_works(api, tenants):
    acme, _ = tenants
    answer = api.call(
        "POST",
        f"/webhooks/inbound/{acme.company.webhook_token}",
        raw="From=%2B27815854565&To=%2B27820000001&Body=Hi+there&MessageSid=SM1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200 and answer.body == {"outcome": "stored"}
    (kept,) = api.get("/inbound", acme.member).body["results"]
    assert (kept["originator"], kept["destination"], kept["text"]) == (SUBSCRIBER, SHORT_CODE, "Hi there")


def test_inbound_is_listed_newest_first_in_pages(api, tenants):
    acme, _ = tenants
    for n in range(5):
        post_inbound(api, acme, **{"from": SUBSCRIBER, "text": f"message {n}"})
    first = api.get("/inbound?page_size=3", acme.member).body
    second = api.get(f"/inbound?page_size=3&cursor={first['next']}", acme.member).body
    texts = [m["text"] for m in first["results"] + second["results"]]
    assert texts == [f"message {n}" for n in (4, 3, 2, 1, 0)] and second["next"] is None


@pytest.mark.parametrize("token", ["nope", "x" * 32, "A" * 200])
def test_an_unknown_token_is_404(api, tenants, token):
    answer = api.post(f"/webhooks/inbound/{token}", json_body={"from": SUBSCRIBER, "text": "STOP"})
    assert answer.status == 404 and answer.error_code == "not_found"
    assert api.post(f"/webhooks/status/{token}", json_body={"id": "x", "status": "delivered"}).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "STOP"}, "from"),
        ({"from": SUBSCRIBER}, "text"),
        ({"from": "12", "text": "STOP"}, "from"),
        ({"from": {"n": 1}, "text": "STOP"}, "from"),
        ({"from": SUBSCRIBER, "text": "x" * 1601}, "text"),
    ],
)
def test_malformed_inbound_is_400_by_field_and_changes_nothing(api, tenants, body, field):
    acme, _ = tenants
    answer = post_inbound(api, acme, **body)
    assert answer.status == 400 and field in answer.body["error"]["fields"], answer.body
    assert optouts.opted_out(acme.id, None, [SUBSCRIBER]) == set()
    assert api.get("/inbound", acme.member).body["results"] == []


@pytest.mark.parametrize(
    "written", ["+27 82 000 0001", "tel:+27820000001", "082 000 0001", "TEL:+27-82-000-0001"]
)
def test_a_stop_to_a_number_in_any_spelling_opts_out_of_that_number(api, aws, written):
    tenant = create_tenant("Hotel", optout_scope="sender")
    answer = post_inbound(api, tenant, **{"from": f"tel:+{SUBSCRIBER}", "to": written, "text": "STOP"})
    assert answer.status == 200 and answer.body == {"outcome": "opted_out"}, answer.body
    (record,) = history(api, tenant)
    assert (record["originator"], record["sender"]) == (SUBSCRIBER, SHORT_CODE)
    assert optouts.opted_out(tenant.id, SHORT_CODE, [SUBSCRIBER]) == {SUBSCRIBER}


def test_a_reply_to_a_number_in_any_spelling_is_kept_under_that_number(api, tenants):
    acme, _ = tenants
    answer = post_inbound(api, acme, **{"from": SUBSCRIBER, "to": "tel:+27 82 000 0001", "text": "Hi"})
    assert answer.body == {"outcome": "stored"}
    (kept,) = api.get("/inbound", acme.member).body["results"]
    assert kept["destination"] == SHORT_CODE


@pytest.mark.parametrize("written", ["not a sender!", "sip:shortcode@gw.example", "12", "x" * 100])
def test_a_stop_to_a_sender_that_cannot_be_read_still_opts_out_of_every_sender(
    api, aws, pump, gateway, written
):
    tenant = create_tenant("India", optout_scope="sender", sender_id="INDIA")
    answer = post_inbound(api, tenant, **{"from": SUBSCRIBER, "to": written, "text": "STOP"})
    assert answer.status == 200 and answer.body == {"outcome": "opted_out"}, answer.body
    (record,) = history(api, tenant)
    assert record["sender"] is None  # the token names the company; which of its senders is unknown
    assert optouts.opted_out(tenant.id, "ANY", [SUBSCRIBER]) == {SUBSCRIBER}
    pump.drain()
    assert [(s.to, s.sender) for s in gateway.sent] == [(SUBSCRIBER, "INDIA")]


def test_a_reply_to_a_sender_that_cannot_be_read_is_kept_with_what_the_gateway_wrote(api, tenants):
    acme, _ = tenants
    answer = post_inbound(api, acme, **{"from": SUBSCRIBER, "to": " sip:shortcode@gw.example ", "text": "Hi"})
    assert answer.body == {"outcome": "stored"}
    (kept,) = api.get("/inbound", acme.member).body["results"]
    assert (kept["destination"], kept["text"]) == ("sip:shortcode@gw.example", "Hi")


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"STOP"', ""])
def test_a_body_that_is_no_object_is_400(api, tenants, raw):
    acme, _ = tenants
    answer = api.call("POST", f"/webhooks/inbound/{acme.company.webhook_token}", raw=raw)
    assert answer.status == 400, answer.body


def test_one_companys_webhook_never_touches_another(api, tenants):
    acme, bravo = tenants
    optouts.create(bravo.id, SUBSCRIBER, None, None, source="api")
    post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "START"})
    post_inbound(api, acme, **{"from": SUBSCRIBER, "text": "Hello Acme"})
    post_inbound(api, acme, **{"from": "27815850000", "text": "STOP"})
    assert optouts.opted_out(bravo.id, None, [SUBSCRIBER]) == {SUBSCRIBER}
    assert optouts.opted_out(bravo.id, None, ["27815850000"]) == set()
    assert api.get("/inbound", bravo.member).body["results"] == []
    assert [m["text"] for m in api.get("/inbound", acme.member).body["results"]] == ["START", "Hello Acme"][
        ::-1
    ]


def test_end_user_messaging_two_way_sms_reaches_the_company_that_owns_that_number(api, aws, pump, gateway):
    owner = create_tenant("Foxtrot", sender_id=SHORT_CODE)
    stranger = create_tenant("Golf", sender_id="27820000009")
    sns = aws_publish("sms-inbound")
    sns(
        {
            "originationNumber": f"+{SUBSCRIBER}",
            "destinationNumber": f"+{SHORT_CODE}",
            "messageKeyword": "KEYWORD_ACCOUNT",
            "messageBody": "Stop",
            "inboundMessageId": "eum-1",
        }
    )
    sns({"originationNumber": f"+{SUBSCRIBER}", "destinationNumber": "+27829999999", "messageBody": "STOP"})
    sns({"not": "an inbound message"})
    pump.drain()
    assert optouts.opted_out(owner.id, None, [SUBSCRIBER]) == {SUBSCRIBER}
    assert optouts.opted_out(stranger.id, None, [SUBSCRIBER]) == set()
    assert [(s.to, s.sender) for s in gateway.sent] == [(SUBSCRIBER, SHORT_CODE)]


def aws_publish(topic):
    sns = aws.client("sns")
    arn = f"arn:aws:sns:{get_settings().region}:123456789012:{get_settings().topic(topic)}"

    def publish(body):
        sns.publish(TopicArn=arn, Message=json.dumps(body))

    return publish


def test_a_stop_during_a_send_is_honoured_by_the_rest_of_it(
    api, tenants, pump, gateway, at_time, small_chunks
):
    acme, _ = tenants
    numbers = [f"2782{n:07d}" for n in range(46)]  # three chunks of `small_chunks`: 20, 20 and 6
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, *numbers)
    late = numbers[44]  # in the third chunk

    def stop_midway(sms, tries):
        if len(gateway.sent) == 2 and not stop_midway.done:  # in the first chunk's first group
            stop_midway.done = True
            assert post_inbound(api, acme, **{"from": late, "text": "STOP"}).body == {"outcome": "opted_out"}

    stop_midway.done = False
    gateway.script = stop_midway
    deployment = pending_deployment(acme, [contact_list.id])
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    pump.drain()
    assert stop_midway.done
    assert late not in {s.to for s in gateway.sent if s.marketing}
    assert Recipient.get(deployment.id, late).status == "opted_out"
    finished = Deployment.get(acme.id, deployment.id)
    assert (finished.sent_count, finished.blocked_count) == (45, 1)
