"""Query parameters as a DRF client sends them: the filters that exist are honoured, any other is a 400
naming it (no filter is ever silently dropped), and DRF's own habits get a clear answer."""

from __future__ import annotations

import pytest

from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from tests.factories import create_campaign, create_contact_list, create_deployment, create_message


def test_messages_filter_by_campaign_and_by_bulk(api, tenants):
    acme, bravo = tenants
    spring = create_campaign(acme.id, "Spring")
    create_message(acme.id, campaign=spring.id)
    create_message(acme.id)
    create_message(bravo.id, campaign=spring.id)  # another company's: never listed
    bulk = api.post(
        "/messages/bulk",
        acme.member,
        [{"destination": "0815854565", "message": "Hi"}, {"destination": "0825854565", "message": "Yo"}],
    ).body
    by_campaign = api.get(f"/messages?campaign_pk={spring.id}", acme.member).body["results"]
    assert [m["campaign_pk"] for m in by_campaign] == [spring.id]
    by_bulk = api.get(f"/messages?bulk={bulk['id']}", acme.member).body["results"]
    assert sorted(m["destination"] for m in by_bulk) == ["27815854565", "27825854565"]
    assert len(api.get("/messages", acme.member).body["results"]) == 4
    refused = api.get("/messages?campaign_pk=abc", acme.member)
    assert refused.status == 400 and "campaign_pk" in refused.body["error"]["fields"]


def test_deployments_filter_by_linked_campaign(api, tenants):
    acme, _ = tenants
    spring = create_campaign(acme.id, "Spring")
    contact_list = create_contact_list(acme.id)
    linked = create_deployment(acme, [contact_list.id], linked_campaign=spring.id)
    create_deployment(acme, [contact_list.id])
    found = api.get(f"/deployments?linked_campaign={spring.id}", acme.member).body["results"]
    assert [d["id"] for d in found] == [linked.id]


def test_company_stats_of_one_deployment_and_not_of_another_companys(api, tenants):
    acme, bravo = tenants
    contact_list = create_contact_list(acme.id)
    deployment = create_deployment(acme, [contact_list.id])
    assert api.get(f"/stats/hourly?deployment={deployment.id}", acme.member).status == 200
    assert api.get(f"/stats/hourly?deployment={deployment.id}", bravo.member).status == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("page=2", "page"),
        ("format=api", "format"),
        ("status=3&statuss=4", "statuss"),
    ],
)
def test_an_unknown_query_parameter_is_a_400_naming_it(api, tenants, query, field):
    acme, _ = tenants
    answer = api.get(f"/deployments?{query}", acme.member)
    assert answer.status == 400 and list(answer.body["error"]["fields"]) == [field]
    if field == "page":
        assert "cursor" in answer.body["error"]["fields"]["page"][0]


def test_drf_format_json_is_accepted(api, tenants):
    acme, _ = tenants
    assert api.get("/deployments?format=json", acme.member).status == 200
    assert api.get("/company?format=json", acme.member).status == 200


def test_a_write_with_a_query_parameter_is_refused_before_it_writes(api, tenants):
    acme, _ = tenants
    answer = api.post(
        "/messages/send?priority=high", acme.member, {"destination": "0815854565", "message": "Hi"}
    )
    assert answer.status == 400 and list(answer.body["error"]["fields"]) == ["priority"]
    assert list(Message.query(acme.id)) == [] and Company.get(acme.id).credits == 1000


def test_an_optout_lookup_of_no_number_is_an_empty_list(api, tenants):
    acme, _ = tenants
    for originator in ("not-a-number", "12", "nobody@"):
        answer = api.get(f"/optouts?originator={originator}", acme.member)
        assert answer.status == 200 and answer.body == {"results": [], "next": None}


def test_a_query_parameter_given_twice_is_a_400_not_one_of_them(api, tenants):
    acme, _ = tenants
    answer = api.get("/messages?campaign_pk=1&campaign_pk=2", acme.member)
    assert answer.status == 400 and list(answer.body["error"]["fields"]) == ["campaign_pk"]


def _cursor(
    payload: dict, key: str = "colony-local-cursor-key", table: str = "colony-test-deployments"
) -> str:
    """A cursor of `table` as Colony signs it, of any payload, under `key`."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    body = b64(json.dumps(payload, separators=(",", ":")).encode())
    signed = f"{table}|{body}".encode()
    return f"{body}.{b64(hmac.new(key.encode(), signed, hashlib.sha256).digest()[:16])}"


def test_a_forged_or_altered_cursor_is_400_and_never_reaches_the_storage(api, tenants):
    """A hand-made key of the wrong type (`company` as text) once reached DynamoDB and came back a 500."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    for _ in range(3):
        create_deployment(acme, [contact_list.id])
    forged_key = {"company": {"S": str(acme.id)}, "id": {"N": "1"}}
    hand_made = _cursor(forged_key).split(".")[0]
    answer = api.get(f"/deployments?cursor={hand_made}", acme.member)
    assert answer.status == 400, answer.body
    real = api.get("/deployments?page_size=1", acme.member).body["next"]
    assert api.get(f"/deployments?page_size=1&cursor={real}", acme.member).status == 200
    payload, mac = real.split(".")
    for cursor in (
        _cursor(forged_key, key="guessed"),
        f"{payload}.{mac[:-2]}AA",
        f"{payload[:-2]}AA.{mac}",
        f"{payload}.",
    ):
        answer = api.get(f"/deployments?cursor={cursor}", acme.member)
        assert answer.status == 400, (cursor, answer.body)
        assert answer.body["error"]["fields"] == {"cursor": ["is not a cursor from this list"]}
    # Signed with the right key, a key of the wrong type is still refused by its shape, never stored.
    shaped = api.get(f"/deployments?cursor={_cursor(forged_key)}", acme.member)
    assert shaped.status == 400, shaped.body
