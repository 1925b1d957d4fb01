import threading
from pathlib import Path

import pytest

from chalicelib.domain.deployments import approvals
from chalicelib.domain.rules.lifecycle import NAMES
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from tests.factories import (
    create_contact_list,
    create_contacts,
    create_deployment,
    create_optout,
    later,
    pending_deployment,
)


@pytest.fixture
def audience(tenants):
    """Acme's two overlapping lists: 4 distinct numbers, one of them opted out."""
    acme, _ = tenants
    first = create_contact_list(acme.id, "First")
    second = create_contact_list(acme.id, "Second")
    create_contacts(acme.id, first.id, "27815854565", first_name="Ann")
    create_contacts(acme.id, first.id, "27821234567", first_name="Zoë")
    create_contacts(acme.id, second.id, "27815854565", first_name="Other Ann")
    create_contacts(acme.id, second.id, "27831234567", "27841234567")
    create_optout(acme.id, "27841234567")
    return [first.id, second.id]


def path(deployment_id, action=""):
    return f"/deployments/{deployment_id}" + (f"/{action}" if action else "")


def test_a_draft_is_created_with_the_seed_fields(api, tenants, audience):
    acme, _ = tenants
    send_date = later(days=5)
    answer = api.post(
        "/deployments",
        acme.member,
        {"title": "Sale", "message": "Hi {{first_name}}", "contact_lists": audience, "send_date": send_date},
    )
    assert answer.status == 201
    body = answer.body
    assert (body["status"], body["status_name"], body["created_by"], body["dispatch"]) == (
        0,
        "draft",
        acme.member.user.id,
        1,
    )
    assert (body["marketing"], body["optout"], body["send_date"]) == (True, True, send_date)
    assert body["contact_lists"] == audience


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "Hi {{name}}"}, "message"),
        ({"message": ""}, "message"),
        ({"dispatch": 4}, "dispatch"),
        ({"message": "Hi \ud800"}, "message"),
        ({"title": "\udfff"}, "title"),
        ({"dispatch": 0}, "dispatch"),
        ({"subject": "Hi {{nickname}}"}, "subject"),
        ({"subject": "two\nlines"}, "subject"),
        ({"html": "<p>{{unknown}}</p>"}, "html"),
        ({"send_date": "tomorrow"}, "send_date"),
        ({"linked_campaign": "abc"}, "linked_campaign"),
        ({"contact_lists": [999]}, "contact_lists"),
        ({"contact_lists": ["1"]}, "contact_lists"),
        ({"linked_campaign": 999}, "linked_campaign"),
        ({"sender": "WAY TOO LONG SENDER"}, "sender"),
        ({"status": 2}, "status"),
        ({"total_credits": 0}, "total_credits"),
    ],
)
def test_bad_drafts_are_400_naming_the_field(api, tenants, body, field):
    acme, _ = tenants
    answer = api.post("/deployments", acme.member, {"title": "Sale", "message": "Hi", **body})
    assert answer.status == 400
    assert field in answer.body["error"]["fields"]
    assert list(Deployment.query(acme.id)) == []


def test_an_unknown_placeholder_is_named_in_the_error(api, tenants):
    acme, _ = tenants
    answer = api.post("/deployments", acme.member, {"title": "Sale", "message": "Hi {{firstname}}!"})
    assert "{{firstname}}" in answer.body["error"]["message"]


def test_the_quote_merges_lists_skips_optouts_and_counts_personal_texts(api, tenants, audience):
    acme, _ = tenants
    deployment = create_deployment(acme, audience, message="Hi {{first_name}}, sale today")
    quote = api.get(path(deployment.id, "quote"), acme.member).body
    # Ann (GSM), Zoë (GSM: ë is not GSM-7 → UCS-2), two with no name; the opt-out line is added to each.
    assert quote["recipients"] == 3
    assert quote["opted_out"] == 1
    assert quote["encoding"] == "UCS-2"
    assert quote["non_gsm_chars"] == ["ë"]
    assert quote["segments_total"] == quote["credits"] == 3
    stored = api.get(path(deployment.id), acme.member).body
    assert (stored["total_contacts"], stored["total_credits"]) == (3, 3)


def test_transactional_deployments_ignore_optouts_and_long_texts_cost_more(api, tenants, audience):
    acme, _ = tenants
    deployment = create_deployment(acme, audience, message="x" * 150, marketing=False, optout=False)
    quote = api.get(path(deployment.id, "quote"), acme.member).body
    assert (quote["recipients"], quote["opted_out"], quote["credits"], quote["encoding"]) == (
        4,
        0,
        4,
        "GSM-7",
    )
    api.patch(path(deployment.id), acme.member, {"optout": True})
    with_line = api.get(path(deployment.id, "quote"), acme.member).body
    assert (with_line["recipients"], with_line["opted_out"], with_line["credits"]) == (
        3,
        1,
        6,
    )  # optout leaves them out


LEGAL = {
    ("edit", 0): 0,
    ("edit", 1): 0,
    ("submit", 0): 1,
    ("approve", 1): 2,
    ("reject", 1): 0,
    ("cancel", 0): 6,
    ("cancel", 1): 6,
    ("cancel", 2): 6,
    ("cancel", 7): 6,
    ("delete", 0): None,
}


@pytest.mark.parametrize("status", [0, 1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("action", ["edit", "submit", "approve", "reject", "cancel", "delete"])
def test_every_life_cycle_move_legal_and_illegal(api, tenants, audience, status, action):
    acme, _ = tenants
    deployment = create_deployment(acme, audience, send_date=later())
    deployment.update(actions=[Deployment.status.set(status)])
    who = acme.approver if action in ("approve", "reject") else acme.member
    if action == "edit":
        answer = api.patch(path(deployment.id), who, {"title": "New title"})
    elif action == "delete":
        answer = api.delete(path(deployment.id), who)
    else:
        answer = api.post(path(deployment.id, action), who)
    if (action, status) in LEGAL:
        assert answer.status in (200, 204), answer.body
        expected = LEGAL[(action, status)]
        stored = Deployment.get_or_none(acme.id, deployment.id)
        assert (stored.status if stored else None) == expected
    else:
        assert answer.status == 409, answer.body
        assert answer.error_code == "illegal_transition"
        assert f"is {NAMES[status]}" in answer.body["error"]["message"]
        assert Deployment.get(acme.id, deployment.id).status == status


def test_a_creator_cannot_approve_their_own_deployment(api, tenants, audience):
    acme, _ = tenants
    admin_made = api.post(
        "/deployments", acme.admin, {"title": "Mine", "message": "Hi", "contact_lists": audience}
    ).body
    api.post(path(admin_made["id"], "submit"), acme.admin)
    refused = api.post(path(admin_made["id"], "approve"), acme.admin)
    assert refused.status == 403
    assert refused.error_code == "second_approver_required"
    assert api.post(path(admin_made["id"], "approve"), acme.approver).status == 200
    api.patch("/company", acme.admin, {"require_second_approver": False})
    own = api.post(
        "/deployments", acme.admin, {"title": "Solo", "message": "Hi", "contact_lists": audience}
    ).body
    api.post(path(own["id"], "submit"), acme.admin)
    assert api.post(path(own["id"], "approve"), acme.admin).status == 200


def test_an_approver_who_changed_or_submitted_it_cannot_approve_it(api, tenants, audience):
    acme, _ = tenants
    made = api.post(
        "/deployments", acme.member, {"title": "Sale", "message": "Hi", "contact_lists": audience}
    ).body
    assert api.post(path(made["id"], "submit"), acme.member).status == 200
    changed = api.patch(f"/deployments/{made['id']}", acme.approver, {"message": "Text nobody reviewed"})
    assert (changed.body["status"], changed.body["editors"]) == (
        0,
        sorted([acme.member.user.id, acme.approver.user.id]),
    )
    assert api.post(path(made["id"], "submit"), acme.approver).body["submitted_by"] == acme.approver.user.id
    refused = api.post(path(made["id"], "approve"), acme.approver)
    assert (refused.status, refused.error_code) == (403, "second_approver_required")
    assert "you changed this one" in refused.body["error"]["message"]
    assert Deployment.get(acme.id, made["id"]).status == 1
    # one who only submitted it is refused too; a third person may approve
    other = api.post(
        "/deployments", acme.member, {"title": "Other", "message": "Hi", "contact_lists": audience}
    ).body
    api.post(path(other["id"], "submit"), acme.approver)
    submitted = api.post(path(other["id"], "approve"), acme.approver)
    assert "you submitted this one" in submitted.body["error"]["message"]
    assert api.post(path(made["id"], "approve"), acme.admin).status == 200


def test_members_cannot_approve_or_reject(api, tenants, audience):
    acme, _ = tenants
    deployment = pending_deployment(acme, audience)
    assert api.post(path(deployment.id, "approve"), acme.member).status == 403
    assert api.post(path(deployment.id, "reject"), acme.member).status == 403
    assert Deployment.get(acme.id, deployment.id).status == 1


def test_an_edit_voids_a_pending_approval(api, tenants, audience):
    acme, _ = tenants
    deployment = pending_deployment(acme, audience)
    edited = api.patch(path(deployment.id), acme.member, {"message": "A different text"})
    assert edited.body["status_name"] == "draft"
    assert api.post(path(deployment.id, "approve"), acme.approver).status == 409
    assert Company.get(acme.id).credits == 1000


def test_approval_freezes_the_audience_and_reserves_the_quote(api, tenants, audience):
    acme, _ = tenants
    deployment = pending_deployment(acme, audience, message="Hello {{first_name}}", send_date=later())
    approved = api.post(path(deployment.id, "approve"), acme.approver)
    assert approved.status == 200
    assert (approved.body["status_name"], approved.body["approved_by"]) == ("approved", acme.approver.user.id)
    assert approved.body["total_credits"] == 3
    assert Company.get(acme.id).credits == 1000 - 3
    frozen = {r.msisdn: r.first_name for r in Recipient.query(deployment.id)}
    assert frozen == {"27815854565": "Ann", "27821234567": "Zoë", "27831234567": None, "27841234567": None}
    create_contacts(acme.id, audience[0], "27851234567")
    assert len(list(Recipient.query(deployment.id))) == 4
    assert api.get(path(deployment.id, "quote"), acme.member).body["credits"] == 3


def test_a_short_balance_is_402_with_the_shortfall_and_nothing_moves(api, tenants, audience):
    acme, _ = tenants
    Company(id=acme.id).update(actions=[Company.credits.set(2)])
    deployment = pending_deployment(acme, audience)
    answer = api.post(path(deployment.id, "approve"), acme.approver)
    assert answer.status == 402
    assert answer.error_code == "insufficient_credits"
    assert "needs 3 credits; the balance is 2 (short by 1)" in answer.body["error"]["message"]
    assert Company.get(acme.id).credits == 2
    assert Deployment.get(acme.id, deployment.id).status == 1


def test_twenty_approvals_racing_for_one_balance(aws, tenants, audience):
    """Each deployment costs 3 credits and the balance is 30: exactly ten can win, whatever the timing."""
    from botocore.client import BaseClient

    from chalicelib.domain.accounts.auth import Caller

    acme, _ = tenants
    Company(id=acme.id).update(actions=[Company.credits.set(30)])
    pending = [pending_deployment(acme, audience, send_date=later()) for _ in range(20)]
    approver = Caller(company=acme.id, user=acme.approver.user.id, role="approver")
    # DynamoDB applies each request atomically; moto in-process does not under threads, so each call is.
    atomic = threading.Lock()
    original = BaseClient._make_api_call

    def one_at_a_time(self, operation, params):
        with atomic:
            return original(self, operation, params)

    start = threading.Barrier(20)
    outcomes = []

    def approve(deployment_id):
        start.wait()
        try:
            approvals.approve(approver, deployment_id)
            outcomes.append("approved")
        except Exception as error:
            outcomes.append(type(error).__name__)

    BaseClient._make_api_call = one_at_a_time
    try:
        threads = [threading.Thread(target=approve, args=(d.id,)) for d in pending]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        BaseClient._make_api_call = original
    assert outcomes.count("approved") == 10
    assert outcomes.count("InsufficientCredits") == 10
    assert Company.get(acme.id).credits == 0
    assert sum(Deployment.get(acme.id, d.id).status == 2 for d in pending) == 10


def test_cancelling_an_approved_deployment_refunds_once(api, tenants, audience):
    acme, _ = tenants
    deployment = pending_deployment(acme, audience, send_date=later())
    api.post(path(deployment.id, "approve"), acme.approver)
    assert Company.get(acme.id).credits == 997
    assert api.post(path(deployment.id, "cancel"), acme.member).body["status_name"] == "cancelled"
    assert Company.get(acme.id).credits == 1000
    assert api.post(path(deployment.id, "cancel"), acme.member).status == 409
    assert Company.get(acme.id).credits == 1000


def test_a_big_audience_is_approved_by_a_task(api, tenants, audience, pump, monkeypatch):
    acme, _ = tenants
    monkeypatch.setattr(approvals, "SYNC_AUDIENCE", 2)
    deployment = pending_deployment(acme, audience, send_date=later())
    answer = api.post(path(deployment.id, "approve"), acme.approver)
    assert answer.status == 202
    assert answer.body["kind"] == "approve_deployment"
    pump.drain()
    assert api.get(f"/tasks/{answer.body['id']}", acme.approver).body["status"] == "completed"
    assert api.get(path(deployment.id), acme.member).body["status_name"] == "approved"
    assert Company.get(acme.id).credits == 997


def test_a_rejection_says_why_and_returns_to_draft(api, tenants, audience):
    acme, _ = tenants
    deployment = pending_deployment(acme, audience)
    rejected = api.post(path(deployment.id, "reject"), acme.approver, {"reason": "Check the price"})
    assert (rejected.body["status_name"], rejected.body["error"]) == ("draft", "Rejected: Check the price")


def test_deleting_a_draft_removes_it(api, tenants, audience):
    acme, _ = tenants
    deployment = create_deployment(acme, audience)
    assert api.delete(path(deployment.id), acme.member).status == 204
    assert api.get(path(deployment.id), acme.member).status == 404


def test_every_deployment_route_is_404_across_companies(api, tenants, audience):
    acme, bravo = tenants
    theirs = pending_deployment(acme, audience)
    for method, action in (
        ("GET", ""),
        ("GET", "quote"),
        ("POST", "submit"),
        ("POST", "approve"),
        ("POST", "reject"),
        ("POST", "cancel"),
        ("POST", "pause"),
        ("POST", "resume"),
        ("POST", "report"),
        ("GET", "messages"),
        ("GET", "stats/daily"),
        ("DELETE", ""),
        ("PATCH", ""),
    ):
        answer = api.call(
            method,
            path(theirs.id, action),
            bravo.admin,
            json_body={"title": "x"} if method == "PATCH" else None,
        )
        assert answer.status == 404, (method, action)
    assert api.get("/deployments", bravo.admin).body["results"] == []
    assert (
        api.post(
            "/deployments", bravo.admin, {"title": "x", "message": "y", "contact_lists": audience}
        ).status
        == 400
    )
    assert Deployment.get(acme.id, theirs.id).status == 1


def test_deployments_are_listed_by_status(api, tenants, audience):
    acme, _ = tenants
    draft = create_deployment(acme, audience)
    pending = pending_deployment(acme, audience)
    assert [d["id"] for d in api.get("/deployments?status=1", acme.member).body["results"]] == [pending.id]
    assert [d["id"] for d in api.get("/deployments?status=draft", acme.member).body["results"]] == [draft.id]
    assert api.get("/deployments?status=nine", acme.member).status == 400


def test_the_message_quote_names_what_forces_ucs2(api, tenants):
    acme, _ = tenants
    answer = api.post("/messages/quote", acme.member, {"message": "Don’t miss it"}).body
    assert answer == {
        "encoding": "UCS-2",
        "characters": 13,
        "segments": 1,
        "per_segment": 70,
        "credits": 1,
        "credits_if_substituted": 1,
        "non_gsm_chars": ["’"],
        "non_gsm": [{"char": "’", "position": 3}],
    }
    with_line = api.post("/messages/quote", acme.member, {"message": "x" * 140, "optout": True}).body
    assert (with_line["characters"], with_line["segments"]) == (162, 2)
    assert api.post("/messages/quote", acme.member, {"message": ""}).status == 400


def test_campaigns_are_named_and_scoped(api, tenants, audience):
    acme, bravo = tenants
    made = api.post("/campaigns", acme.member, {"title": "Black Friday"})
    assert made.status == 201
    assert api.get(f"/campaigns/{made.body['id']}", bravo.member).status == 404
    linked = api.post(
        "/deployments", acme.member, {"title": "x", "message": "y", "linked_campaign": made.body["id"]}
    )
    assert linked.body["linked_campaign"] == made.body["id"]
    refused = api.post(
        "/deployments", bravo.member, {"title": "x", "message": "y", "linked_campaign": made.body["id"]}
    )
    assert refused.status == 400
    assert [c["id"] for c in api.get("/campaigns", acme.member).body["results"]] == [made.body["id"]]


def _import_deployment(api, member, data, **form):
    from tests.api_client import multipart

    body, content_type = multipart(form, {"file": ("campaign.csv", data)})
    return api.call("POST", "/deployments/import", member, raw=body, headers={"Content-Type": content_type})


def test_a_deployment_csv_with_a_message_per_row(api, tenants, pump):
    acme, _ = tenants
    data = (Path(__file__).parent.parent / "fixtures" / "csv" / "shipping_notices.csv").read_bytes()
    started = _import_deployment(api, acme.member, data, title="Shipping notices")
    assert started.status == 202
    assert (started.body["status"], started.body["title"], started.body["import"]["status"]) == (
        0,
        "Shipping notices",
        "pending",
    )
    deployment_id = started.body["id"]
    pump.drain()
    job = api.get(f"/imports/{started.body['import']['id']}", acme.member).body
    assert (job["status"], job["imported"], job["duplicates"], job["rejected"]) == ("completed", 3, 1, 1)
    draft = api.get(path(deployment_id), acme.member).body
    assert (draft["title"], draft["status_name"], draft["source"]) == ("Shipping notices", "draft", "import")
    quote = api.get(path(deployment_id, "quote"), acme.member).body
    # 1 GSM segment; 1 UCS-2 (the en dash is not GSM-7); 200 GSM characters: 2; opt-out line on each
    assert (quote["recipients"], quote["credits"], quote["encoding"], quote["non_gsm_chars"]) == (
        3,
        4,
        "UCS-2",
        ["–"],
    )
    texts = {r.msisdn: r.message for r in Recipient.query(deployment_id)}
    assert texts["27815854565"] == "Your order 1 has shipped"


def test_a_deployment_csv_with_a_template_over_its_columns_is_approved_on_its_own_recipients(
    api, tenants, pump
):
    acme, _ = tenants
    data = b"Mobile,First Name,City\r\n0815854565,Ann,Durban\r\n0821234567,Bob,Soweto\r\n"
    started = _import_deployment(api, acme.member, data, message="Hi {{first_name}} from {{fields.city}}")
    pump.drain()
    deployment_id = started.body["id"]
    assert api.get(path(deployment_id), acme.member).body["total_credits"] == 2
    assert api.post(path(deployment_id, "submit"), acme.member).status == 200
    approved = api.post(path(deployment_id, "approve"), acme.approver)
    assert (approved.status, approved.body["total_credits"]) == (200, 2)
    assert Company.get(acme.id).credits == 998
    assert {r.fields.as_dict()["city"] for r in Recipient.query(deployment_id)} == {"Durban", "Soweto"}


def test_a_deployment_csv_without_any_message_fails_clearly(api, tenants, pump):
    acme, _ = tenants
    started = _import_deployment(api, acme.member, b"destination\n0815854565\n")
    pump.drain()
    job = api.get(f"/imports/{started.body['import']['id']}", acme.member).body
    assert job["status"] == "failed"
    assert "no message column" in job["error"]
    draft = api.get(path(started.body["id"]), acme.member).body
    assert draft["status_name"] == "draft" and "no message column" in draft["error"]


def test_an_imported_deployment_takes_no_contact_lists(api, tenants, pump, audience):
    acme, _ = tenants
    started = _import_deployment(api, acme.member, b"destination,message\n0815854565,Hi\n")
    pump.drain()
    answer = api.patch(path(started.body["id"]), acme.member, {"contact_lists": audience})
    assert answer.status == 400
    assert "own recipients" in answer.body["error"]["fields"]["contact_lists"][0]


@pytest.mark.parametrize("marketing", [False, True])
@pytest.mark.parametrize("optout", [False, True])
def test_the_quote_is_what_approval_reserves_and_sending_charges(
    api, tenants, audience, pump, gateway, marketing, optout
):
    acme, _ = tenants
    deployment = pending_deployment(acme, audience, message="y" * 150, marketing=marketing, optout=optout)
    quoted = api.get(path(deployment.id, "quote"), acme.member).body
    assert quoted["credits"] == (3 if marketing or optout else 4) * (2 if optout else 1)
    assert api.post(path(deployment.id, "approve"), acme.approver).body["total_credits"] == quoted["credits"]
    pump.drain()
    sent = Deployment.get(acme.id, deployment.id)
    assert (sent.status, sent.total_credits) == (4, quoted["credits"])
    assert Company.get(acme.id).credits == 1000 - quoted["credits"]


def test_a_deployment_chooses_gsm_substitution_and_is_charged_the_substituted_price(
    api, tenants, audience, pump, gateway
):
    acme, _ = tenants
    text = "Don’t miss it – " + "x" * 120
    draft = create_deployment(acme, audience, message=text, marketing=False, optout=False)
    quote = api.get(path(draft.id, "quote"), acme.member).body
    assert (quote["encoding"], quote["credits"], quote["credits_if_substituted"]) == ("UCS-2", 12, 4)
    assert [n["char"] for n in quote["non_gsm"]] == ["’", "–"]
    api.patch(path(draft.id), acme.member, {"gsm_substitute": True})
    chosen = api.get(path(draft.id, "quote"), acme.member).body
    assert (chosen["encoding"], chosen["credits"], chosen["credits_if_substituted"]) == ("GSM-7", 4, 4)
    assert api.post(path(draft.id, "submit"), acme.member).status == 200
    assert api.post(path(draft.id, "approve"), acme.approver).body["total_credits"] == 4
    pump.drain()
    assert {sms.text for sms in gateway.sent} == {"Don't miss it - " + "x" * 120}
    assert Company.get(acme.id).credits == 1000 - 4


def test_an_approved_deployment_says_why_it_waits_and_until_when_in_the_company_zone(
    api, tenants, audience, at_time
):
    from chalicelib.domain.deployments import launch

    acme, _ = tenants
    planned = pending_deployment(acme, audience, send_date=later(days=2), marketing=False)
    api.post(path(planned.id, "approve"), acme.approver)
    shown = api.get(path(planned.id), acme.member).body
    assert (shown["waiting_reason"], shown["waiting_until"]) == ("send_date", "2026-11-28T10:00:00+02:00")
    at_time("2026-11-26T21:00:00+02:00")  # Thursday evening: marketing hours closed at 20:00
    marketing = pending_deployment(acme, audience, marketing=True)
    api.post(path(marketing.id, "approve"), acme.approver)
    shown = api.get(path(marketing.id), acme.member).body
    assert (shown["waiting_reason"], shown["waiting_until"]) == ("quiet_hours", "2026-11-27T08:00:00+02:00")
    launch.launch_due()  # the launcher moves it to the opening: it says the same
    listed = {d["id"]: d for d in api.get("/deployments", acme.member).body["results"]}
    assert listed[marketing.id]["waiting_reason"] == "quiet_hours"
    assert listed[marketing.id]["waiting_until"] == "2026-11-27T08:00:00+02:00"
    plain = pending_deployment(acme, audience, marketing=False)
    api.post(path(plain.id, "approve"), acme.approver)  # due and not marketing: it starts at once
    started = api.get(path(plain.id), acme.member).body
    assert (started["status_name"], started["waiting_reason"], started["waiting_until"]) == (
        "sending",
        None,
        None,
    )
    draft = api.get(path(create_deployment(acme, audience).id), acme.member).body
    assert (draft["waiting_reason"], draft["waiting_until"]) == (None, None)


def test_the_quote_says_what_the_sms_will_be_sent_from(api, tenants, audience):
    acme, _ = tenants
    draft = create_deployment(acme, audience)
    quote = api.get(path(draft.id, "quote"), acme.member).body
    assert (quote["sender"], quote["sender_source"]) == (None, "gateway_default")
    Company(id=acme.id).update(actions=[Company.sender_id.set("ACME")])
    quote = api.get(path(draft.id, "quote"), acme.member).body
    assert (quote["sender"], quote["sender_source"]) == ("ACME", "company")
    own = create_deployment(acme, audience, sender="Shop")
    quote = api.get(path(own.id, "quote"), acme.member).body
    assert (quote["sender"], quote["sender_source"]) == ("Shop", "deployment")
    api.post(path(draft.id, "submit"), acme.member)
    api.post(path(draft.id, "approve"), acme.approver)
    Company(id=acme.id).update(actions=[Company.sender_id.set("LATER")])
    quote = api.get(path(draft.id, "quote"), acme.member).body
    assert (quote["sender"], quote["sender_source"]) == ("ACME", "company")  # frozen at approval
