"""Text the storage would refuse (a lone surrogate, a NUL) is a 400 naming the field on every route that
stores text, never a 500, and nothing is stored."""

import pytest

from tests.factories import create_contact_list

BAD = ["\ud800", "a\x00b"]


@pytest.mark.parametrize("text", BAD)
@pytest.mark.parametrize(
    ("method", "route", "body", "field"),
    [
        ("POST", "/campaigns", {"title": "{}"}, "title"),
        ("POST", "/contact-lists", {"title": "{}"}, "title"),
        ("PATCH", "/contact-lists/{list}", {"title": "{}"}, "title"),
        ("PUT", "/contact-lists/{list}", {"title": "{}"}, "title"),
        ("POST", "/saved-queries", {"title": "{}", "query": 'first_name = "Ann"'}, "title"),
        ("POST", "/messages/send", {"destination": "0815854565", "message": "{}"}, "message"),
        ("POST", "/optouts", {"originator": "0815854565", "reason": "{}"}, "reason"),
        ("POST", "/deployments", {"title": "{}", "message": "Hi"}, "title"),
    ],
)
def test_unstorable_text_is_400_naming_the_field(api, tenants, method, route, body, field, text):
    acme, _ = tenants
    listed = create_contact_list(acme.id, "Kept")
    filled = {k: (v.replace("{}", text) if isinstance(v, str) else v) for k, v in body.items()}
    answer = api.call(method, route.format(list=listed.id), acme.member, filled)
    assert answer.status == 400, answer.body
    assert field in answer.body["error"]["fields"]
    assert api.get(f"/contact-lists/{listed.id}", acme.member).body["title"] == "Kept"


def test_a_reply_to_a_to_that_cannot_be_stored_is_a_400_not_a_500(api, tenants):
    acme, _ = tenants
    token = acme.company.webhook_token
    answer = api.post(
        f"/webhooks/inbound/{token}",
        json_body={"from": "27815854565", "to": "\ud800", "text": "Where is it?"},
    )
    assert answer.status < 500, answer.body


def test_a_reply_whose_text_holds_a_lone_surrogate_is_a_400_not_a_500(api, tenants):
    acme, _ = tenants
    token = acme.company.webhook_token
    answer = api.post(f"/webhooks/inbound/{token}", json_body={"from": "27815854565", "text": "hi \ud800"})
    assert answer.status == 400 and "text" in answer.body["error"]["fields"], answer.body
