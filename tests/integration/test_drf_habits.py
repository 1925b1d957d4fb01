"""A client written for the closed platform's Django REST framework API: it sends back what it read."""

from __future__ import annotations

import pytest

from chalicelib.models.companies import Company
from tests.factories import (
    create_campaign,
    create_contact_list,
    create_contacts,
    create_deployment,
    create_saved_query,
)


def round_trip(api, member, path, change):
    """GET the object, change one field, PUT the whole of it back."""
    read = api.get(path, member).body
    return read, api.put(path, member, {**read, **change})


def test_a_draft_read_changed_and_put_back_is_saved(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    draft = create_deployment(acme, [contact_list.id])
    read, answer = round_trip(api, acme.member, f"/deployments/{draft.id}", {"title": "Summer sale"})
    assert answer.status == 200, answer.body
    assert answer.body["title"] == "Summer sale" and answer.body["message"] == read["message"]


def test_a_changed_read_only_field_is_still_a_400_naming_it_and_changes_nothing(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    draft = create_deployment(acme, [contact_list.id])
    read, answer = round_trip(
        api, acme.member, f"/deployments/{draft.id}", {"title": "New", "total_credits": 0, "company": 99}
    )
    assert answer.status == 400 and set(answer.body["error"]["fields"]) == {"company"}
    assert api.get(f"/deployments/{draft.id}", acme.member).body["title"] == read["title"]
    made_up = api.patch(f"/deployments/{draft.id}", acme.member, {"colour": "red"})
    assert made_up.status == 400 and made_up.body["error"]["fields"] == {
        "colour": ["is not a field of this object"]
    }


@pytest.mark.parametrize("method", ["put", "patch"])
def test_company_contact_list_and_contact_take_back_what_they_gave(api, tenants, method):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    (contact,) = create_contacts(acme.id, contact_list.id, "27815854565", first_name="Ann")
    for path, change in (
        ("/company", {"sender_id": "ACME"}),
        (f"/contact-lists/{contact_list.id}", {"title": "Best customers"}),
        (f"/contact-lists/{contact_list.id}/contacts/{contact.id}", {"first_name": "Anna"}),
    ):
        read = api.get(path, acme.admin).body
        answer = getattr(api, method)(path, acme.admin, {**read, **change})
        assert answer.status == 200, (path, answer.body)
        assert all(answer.body[k] == v for k, v in change.items())
    assert Company.get(acme.id).credits == 1000
    raised = api.put("/company", acme.admin, {**api.get("/company", acme.admin).body, "credits": 10**6})
    assert raised.status == 400 and "credits" in raised.body["error"]["fields"]
    assert Company.get(acme.id).credits == 1000


def test_a_put_to_another_companys_object_is_a_404(api, tenants):
    acme, bravo = tenants
    contact_list = create_contact_list(acme.id)
    draft = create_deployment(acme, [contact_list.id])
    read = api.get(f"/deployments/{draft.id}", acme.member).body
    assert api.put(f"/deployments/{draft.id}", bravo.member, read).status == 404
    assert api.put(f"/contact-lists/{contact_list.id}", bravo.member, {"title": "Mine"}).status == 404
    (contact,) = create_contacts(acme.id, contact_list.id, "27815854565")
    contact_path = f"/contact-lists/{contact_list.id}/contacts/{contact.id}"
    assert api.put(contact_path, bravo.member, {"msisdn": "27815854565"}).status == 404
    saved = create_saved_query(acme.id, 'first_name = "Ann"')
    assert (
        api.put(f"/saved-queries/{saved.id}", bravo.member, {"title": "Mine", "query": "list = 1"}).status
        == 404
    )
    assert api.get(f"/saved-queries/{saved.id}", acme.member).body["title"] == saved.title


def test_a_send_date_without_a_zone_is_read_in_the_companys_and_ids_may_be_digits(api, tenants):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    spring = create_campaign(acme.id, "Spring")
    body = {
        "title": "Sale",
        "message": "Hi",
        "send_date": "2026-12-01T08:00:00",
        "contact_lists": [str(contact_list.id)],
        "linked_campaign": str(spring.id),
    }
    made = api.post("/deployments", acme.member, body)
    assert made.status == 201, made.body
    assert made.body["send_date"] == "2026-12-01T06:00:00Z"  # 08:00 in Johannesburg
    assert (made.body["contact_lists"], made.body["linked_campaign"]) == ([contact_list.id], spring.id)
    sent = api.post(
        "/messages/send",
        acme.member,
        {"destination": "0815854565", "message": "Hi", "campaign_pk": str(spring.id)},
    )
    assert sent.status == 201 and sent.body["campaign_pk"] == spring.id


def form(api, method, path, member, pairs):
    from urllib.parse import urlencode

    return api.call(
        method,
        path,
        member,
        raw=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_a_form_encoded_send_is_the_same_send(api, tenants, pump, gateway):
    acme, _ = tenants
    answer = form(
        api, "POST", "/messages/send", acme.member, [("destination", "0815854565"), ("message", "Hi")]
    )
    assert answer.status == 201, answer.body
    assert (answer.body["destination"], answer.body["credits"]) == ("27815854565", 1)
    bad = form(api, "POST", "/messages/send", acme.member, [("destination", "nope"), ("message", "Hi")])
    assert bad.status == 400 and "destination" in bad.body["error"]["fields"]
    pump.drain()
    assert [sms.to for sms in gateway.sent] == ["27815854565"]


def test_forms_carry_lists_booleans_and_ids_as_drf_reads_them(api, tenants):
    from tests.api_client import multipart

    acme, _ = tenants
    first, second = create_contact_list(acme.id), create_contact_list(acme.id, "Staff")
    answer = form(
        api,
        "POST",
        "/deployments",
        acme.member,
        [
            ("title", "Sale"),
            ("message", "Hi"),
            ("contact_lists", str(first.id)),
            ("contact_lists", str(second.id)),
            ("marketing", "off"),
            ("optout", "1"),
        ],
    )
    assert answer.status == 201, answer.body
    assert (answer.body["contact_lists"], answer.body["marketing"], answer.body["optout"]) == (
        [first.id, second.id],
        False,
        True,
    )
    body, content_type = multipart({"title": "Sale 2", "message": "Hi", "contact_lists": f"[{first.id}]"}, {})
    made = api.call("POST", "/deployments", acme.member, raw=body, headers={"Content-Type": content_type})
    assert made.status == 201 and made.body["contact_lists"] == [first.id]
    patched = form(api, "PATCH", "/company", acme.admin, [("quiet_hours", "false"), ("send_rate", "20")])
    assert patched.status == 200 and (patched.body["quiet_hours"], patched.body["send_rate"]) == (False, 20)
    wrong = form(api, "PATCH", "/company", acme.admin, [("quiet_hours", "maybe")])
    assert wrong.status == 400 and "quiet_hours" in wrong.body["error"]["fields"]
    contact = form(
        api,
        "POST",
        f"/contact-lists/{first.id}/contacts",
        acme.member,
        [("msisdn", "0815854565"), ("first_name", "Ann")],
    )
    assert contact.status == 201 and contact.body["first_name"] == "Ann"


def test_a_drafts_totals_are_its_current_quote_after_every_create_and_edit(api, tenants, pump, monkeypatch):
    from chalicelib.domain.deployments import quotes

    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", "27820000002", "27820000003")
    body = {"title": "Sale", "message": "Hi", "contact_lists": [contact_list.id], "marketing": False}
    made = api.post("/deployments", acme.member, body).body
    assert (made["total_contacts"], made["total_credits"], made["quote_status"]) == (3, 3, "current")
    edited = api.patch(f"/deployments/{made['id']}", acme.member, {"message": "x" * 200}).body
    assert (edited["total_contacts"], edited["total_credits"]) == (3, 6)
    monkeypatch.setattr(quotes, "SYNC_AUDIENCE", 2)
    big = api.patch(f"/deployments/{made['id']}", acme.member, {"message": "Hi again"}).body
    assert big["quote_status"] == "pending"
    pump.drain()
    settled = api.get(f"/deployments/{made['id']}", acme.member).body
    assert (settled["quote_status"], settled["total_credits"]) == ("current", 3)


def test_a_quote_task_that_fails_says_so_on_the_draft_until_it_is_quoted_again(
    api, tenants, pump, monkeypatch
):
    from chalicelib.domain.deployments import quotes
    from chalicelib.domain.errors import InvalidInput

    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001")
    made = api.post(
        "/deployments", acme.member, {"title": "Sale", "message": "Hi", "contact_lists": [contact_list.id]}
    ).body
    monkeypatch.setattr(quotes, "SYNC_AUDIENCE", 0)
    real = quotes.compute_quote

    def broken(deployment, company):
        raise InvalidInput("the audience could not be read")

    monkeypatch.setattr(quotes, "compute_quote", broken)
    assert (
        api.patch(f"/deployments/{made['id']}", acme.member, {"title": "Sale 2"}).body["quote_status"]
        == "pending"
    )
    pump.drain()
    assert api.get(f"/deployments/{made['id']}", acme.member).body["quote_status"] == "failed"
    monkeypatch.setattr(quotes, "compute_quote", real)
    assert api.get(f"/deployments/{made['id']}/quote", acme.member).status == 200
    assert api.get(f"/deployments/{made['id']}", acme.member).body["quote_status"] == "current"
