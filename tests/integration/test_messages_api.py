import pytest

from chalicelib.domain import clock
from chalicelib.domain.contacts import optouts
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from tests.factories import create_campaign, create_message


def test_one_message_is_paid_for_sent_and_readable(api, tenants, pump, gateway):
    acme, _ = tenants
    answer = api.post(
        "/messages/send", acme.member, {"message": "Your code is 1234", "destination": "081 585 4565"}
    )
    assert answer.status == 201
    assert {k: answer.body[k] for k in ("destination", "status", "segments", "encoding", "credits")} == {
        "destination": "27815854565",
        "status": "queued",
        "segments": 1,
        "encoding": "GSM-7",
        "credits": 1,
    }
    assert Company.get(acme.id).credits == 999
    pump.drain()
    assert [(s.to, s.text, s.marketing) for s in gateway.sent] == [
        ("27815854565", "Your code is 1234", False)
    ]
    read = api.get(f"/messages/{answer.body['id']}", acme.member).body
    assert read["status"] == "sent" and read["provider_id"].startswith("fake-")


def test_a_short_balance_is_402_and_nothing_is_sent(api, tenants, pump, gateway, caplog):
    acme, _ = tenants
    Company(id=acme.id).update(actions=[Company.credits.set(1)])
    answer = api.post("/messages/send", acme.member, {"message": "x" * 200, "destination": "0815854565"})
    assert answer.status == 402
    assert "short by 1" in answer.body["error"]["message"]
    ran = pump.drain()
    assert gateway.sent == []
    assert Company.get(acme.id).credits == 1
    # the refused message's queue entry was dropped by its first invocation, quietly, not retried
    assert ran and max(pump.invocations.values()) == 1 and pump.dead_letters("send") == []
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_bad_messages_are_400_by_field(api, tenants):
    acme, _ = tenants
    for body, field in (
        ({"message": "hi"}, "destination"),
        ({"destination": "0815854565"}, "message"),
        ({"message": "hi", "destination": "12"}, "destination"),
        ({"message": "hi", "destination": "0815854565", "campaign_pk": 99}, "campaign_pk"),
    ):
        answer = api.post("/messages/send", acme.member, body)
        assert answer.status == 400 and field in answer.body["error"]["fields"], body
    assert Company.get(acme.id).credits == 1000


def test_a_bulk_request_accepts_the_good_items_and_lists_the_bad_by_index(
    api, tenants, pump, gateway, small_chunks
):
    acme, _ = tenants
    items = [{"destination": f"2782{n:07d}", "message": f"Hi {n}"} for n in range(26)]  # sends of 20 and 3
    items[3] = {"destination": "123", "message": "bad number"}
    items[7] = {"destination": "0815854565"}
    items[9] = "not an object"
    answer = api.post("/messages/bulk", acme.member, items)
    assert answer.status == 202
    assert (answer.body["accepted"], answer.body["credits"]) == (23, 23)
    assert [
        (r["index"], list(r["error"]["fields"]) or r["error"]["code"]) for r in answer.body["rejected"]
    ] == [(3, ["destination"]), (7, ["message"]), (9, "invalid_item")]
    assert Company.get(acme.id).credits == 1000 - 23
    pump.drain()
    assert len(gateway.sent) == 23
    assert len({s.to for s in gateway.sent}) == 23


def test_a_bulk_request_is_queued_in_sends_of_a_hundred(api, tenants, captured):
    """The production size of the sends the test above makes small (it runs with `small_chunks`)."""
    from chalicelib import queue_messages

    acme, _ = tenants
    items = [{"destination": f"2782{n:07d}", "message": "Hi"} for n in range(130)]
    assert api.post("/messages/bulk", acme.member, items).status == 202
    assert [len(m.ids) for m in captured.take(queue_messages.SendMessages)] == [100, 30]


def test_a_bulk_request_the_balance_cannot_cover_sends_nothing(api, tenants, pump, gateway):
    acme, _ = tenants
    Company(id=acme.id).update(actions=[Company.credits.set(10)])
    items = [{"destination": f"2782{n:07d}", "message": "Hi"} for n in range(11)]
    assert api.post("/messages/bulk", acme.member, items).status == 402
    pump.drain()
    assert gateway.sent == []
    assert {m.status for m in Message.query(acme.id)} == {"failed"}
    assert Company.get(acme.id).credits == 10


def test_marketing_messages_skip_optouts_and_refund_them(api, tenants, pump, gateway, at_time):
    acme, _ = tenants
    optouts.create(acme.id, "27815854565", None, "STOP", source="api")
    blocked = api.post(
        "/messages/send", acme.member, {"message": "Sale!", "destination": "0815854565", "marketing": True}
    )
    allowed = api.post(
        "/messages/send", acme.member, {"message": "Sale!", "destination": "0821234567", "marketing": True}
    )
    api.post("/messages/send", acme.member, {"message": "Receipt", "destination": "0815854565"})
    pump.drain()
    assert sorted((s.to, s.text) for s in gateway.sent) == [
        ("27815854565", "Receipt"),
        ("27821234567", "Sale!\nReply STOP to opt out"),
    ]
    assert api.get(f"/messages/{blocked.body['id']}", acme.member).body["status"] == "opted_out"
    assert allowed.body["credits"] == 1
    assert Company.get(acme.id).credits == 1000 - 2


def test_marketing_messages_wait_for_permitted_hours(api, tenants, pump, gateway, at_time, queue_delays):
    acme, _ = tenants
    at_time("2026-11-29T10:00:00+02:00")  # a Sunday
    answer = api.post(
        "/messages/send", acme.member, {"message": "Sale!", "destination": "0815854565", "marketing": True}
    )
    pump.pump.deliver(next(q for q in pump.pump.queues if q.name == "send_worker"))
    assert gateway.sent == []
    assert queue_delays[-1] == 900
    at_time("2026-11-30T08:00:00+02:00")
    pump.drain()
    assert api.get(f"/messages/{answer.body['id']}", acme.member).body["status"] == "sent"


def test_messages_are_404_across_companies(api, tenants):
    acme, bravo = tenants
    mine = api.post("/messages/send", acme.member, {"message": "Hi", "destination": "0815854565"}).body
    assert api.get(f"/messages/{mine['id']}", bravo.admin).status == 404
    assert api.get(f"/messages/{mine['id']}", acme.member).status == 200


def test_a_delivered_message_reads_back_with_its_campaign_and_times(api, tenants):
    acme, bravo = tenants
    campaign = create_campaign(acme.id)
    stored = create_message(acme.id, "27815854565", "delivered", campaign=campaign.id)
    read = api.get(f"/messages/{stored.id}", acme.member).body
    assert (read["status"], read["campaign_pk"], read["provider_id"]) == (
        "delivered",
        campaign.id,
        stored.provider_id,
    )
    assert read["date_sent"] == read["date_delivered"] == clock.iso(clock.now())
    assert api.get(f"/messages/{stored.id}", bravo.member).status == 404
    assert api.get(f"/campaigns/{campaign.id}", bravo.member).status == 404


def test_messages_are_listed_newest_first_for_their_company_only(api, tenants):
    acme, bravo = tenants
    ids = [
        api.post("/messages/send", acme.member, {"message": f"Hi {n}", "destination": "0815854565"}).body[
            "id"
        ]
        for n in range(3)
    ]
    api.post("/messages/send", bravo.member, {"message": "Bravo", "destination": "0815854565"})
    first = api.get("/messages?page_size=2", acme.member).body
    rest = api.get(f"/messages?page_size=2&cursor={first['next']}", acme.member).body
    assert [m["id"] for m in first["results"] + rest["results"]] == ids[::-1]
    assert rest["next"] is None


@pytest.mark.parametrize("marketing", [False, True])
def test_a_quote_is_what_the_send_charges(api, tenants, marketing):
    acme, _ = tenants
    text = "x" * 150  # one segment alone, two once the opt-out line is added
    for flags in (
        {"marketing": marketing},
        {"optout": marketing},
        {"marketing": marketing, "optout": marketing},
    ):
        quoted = api.post("/messages/quote", acme.member, {"message": text, **flags})
        assert quoted.status == 200 and quoted.body["credits"] == (2 if marketing else 1), flags
    sent = api.post(
        "/messages/send", acme.member, {"message": text, "destination": "0815854565", "marketing": marketing}
    )
    assert sent.body["credits"] == quoted.body["credits"]
    assert Message.get(acme.id, sent.body["id"]).text.endswith("Reply STOP to opt out") is marketing


def test_a_quote_refuses_marketing_and_optout_that_disagree(api, tenants):
    acme, _ = tenants
    answer = api.post("/messages/quote", acme.member, {"message": "Hi", "marketing": True, "optout": False})
    assert answer.status == 400 and list(answer.body["error"]["fields"]) == ["optout"]
    assert api.post("/messages/quote", acme.member, {"message": "   "}).status == 400


def test_a_refunded_message_shows_no_credits_and_a_bulk_names_its_messages(api, tenants, pump, gateway):
    acme, _ = tenants
    optouts.create(acme.id, "27815854565", None, None, source="api")
    sent = api.post(
        "/messages/send", acme.member, {"destination": "0815854565", "message": "Sale", "marketing": True}
    ).body
    assert sent["credits"] == 1  # reserved until it is settled
    pump.drain()
    read = api.get(f"/messages/{sent['id']}", acme.member).body
    assert (read["status"], read["credits"]) == ("opted_out", 0)
    bulk = api.post(
        "/messages/bulk",
        acme.member,
        [
            {"destination": "0825854565", "message": "A"},
            {"destination": "bad", "message": "B"},
            {"destination": "0835854565", "message": "C"},
        ],
    ).body
    assert [m["index"] for m in bulk["messages"]] == [0, 2]
    assert [api.get(f"/messages/{m['id']}", acme.member).body["destination"] for m in bulk["messages"]] == [
        "27825854565",
        "27835854565",
    ]


def test_a_curly_apostrophe_is_visible_in_the_quote_and_substitution_is_a_choice(api, tenants, pump, gateway):
    acme, _ = tenants
    text = "We’re open" + " today" * 20  # 130 characters, one of them outside GSM-7
    quote = api.post("/messages/quote", acme.member, {"message": text}).body
    assert (quote["encoding"], quote["characters"], quote["segments"], quote["per_segment"]) == (
        "UCS-2",
        130,
        2,
        67,
    )
    assert quote["non_gsm"] == [{"char": "’", "position": 2}]
    assert (quote["credits"], quote["credits_if_substituted"]) == (2, 1)
    plain = api.post("/messages/send", acme.member, {"destination": "0815854565", "message": text}).body
    chosen = api.post(
        "/messages/send", acme.member, {"destination": "0825854565", "message": text, "gsm_substitute": True}
    ).body
    assert (plain["credits"], plain["encoding"]) == (2, "UCS-2")
    assert (chosen["credits"], chosen["encoding"], chosen["characters"], chosen["non_gsm"]) == (
        1,
        "GSM-7",
        130,
        [],
    )
    pump.drain()
    texts = {sms.to: sms.text for sms in gateway.sent}
    assert texts["27815854565"] == text and texts["27825854565"] == text.replace("’", "'")
    assert Company.get(acme.id).credits == 1000 - 3


def test_a_message_read_before_its_payment_lands_is_retried_in_seconds(
    api, tenants, pump, gateway, monkeypatch
):
    """The send is queued an instant before it is paid for; a worker that reads it in between must not
    hold a one-time code back for the queue's 30-second back-off."""
    from chalicelib.domain.sending import api_messages
    from chalicelib.workers import sqs

    acme, _ = tenants
    delays = []
    monkeypatch.setattr(sqs, "retry_later", lambda queue, handle, seconds: delays.append((queue, seconds)))
    original = api_messages.pay_for_message

    def worker_reads_first(message, company):
        send = next(s for s in pump.pump.queues if s.name == "send_worker")
        assert pump.pump.deliver(send).received == 1
        original(message, company)

    monkeypatch.setattr(api_messages, "pay_for_message", worker_reads_first)
    assert (
        api.post("/messages/send", acme.member, {"message": "Code 4821", "destination": "0815854565"}).status
        == 201
    )
    assert delays == [("send", 2)]
    pump.drain()
    assert [s.text for s in gateway.sent] == ["Code 4821"]
