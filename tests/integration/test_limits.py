"""Limits that contain a leaked key: the daily credit limit, allowed IPs, key expiry and last use, and the
per-company request limit."""

from __future__ import annotations

import threading

import pytest

from chalicelib.models.companies import Company
from tests.factories import create_contact_list, create_contacts, pending_deployment

SMS = {"message": "Your code is 1234", "destination": "0815854565"}  # one credit


def limit_to(api, tenant, limit):
    answer = api.patch("/company", tenant.admin, {"daily_credit_limit": limit})
    assert answer.status == 200, answer.body
    return answer.body


@pytest.fixture
def audience(tenants):
    """Three numbers in one of Acme's lists: a deployment to it costs 3 credits."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565", "27821234567", "27831234567")
    return [contact_list.id]


@pytest.fixture
def atomic_dynamodb():
    """DynamoDB applies each request atomically; moto in-process does not under threads, so each call is."""
    from botocore.client import BaseClient

    lock, original = threading.Lock(), BaseClient._make_api_call

    def one_at_a_time(self, operation, params):
        with lock:
            return original(self, operation, params)

    BaseClient._make_api_call = one_at_a_time
    yield
    BaseClient._make_api_call = original


def test_an_admin_sets_the_daily_credit_limit_and_reads_the_days_use(api, tenants):
    acme, _ = tenants
    body = api.get("/company", acme.member).body
    assert (body["daily_credit_limit"], body["credits_used_today"]) == (None, 0)
    assert api.patch("/company", acme.member, {"daily_credit_limit": 5}).status == 403
    assert limit_to(api, acme, 5)["daily_credit_limit"] == 5
    assert api.post("/messages/send", acme.member, SMS).status == 201
    body = api.get("/company", acme.member).body
    assert (body["daily_credit_limit"], body["credits_used_today"], body["credits"]) == (5, 1, 999)
    assert limit_to(api, acme, None)["daily_credit_limit"] is None
    assert Company.get(acme.id).daily_credit_limit is None


@pytest.mark.parametrize("value", [0, -3, 2.5, "ten", True, 10**10])
def test_a_bad_daily_credit_limit_is_400_naming_it(api, tenants, value):
    acme, _ = tenants
    answer = api.patch("/company", acme.admin, {"daily_credit_limit": value})
    assert answer.status == 400
    assert list(answer.body["error"]["fields"]) == ["daily_credit_limit"]
    assert Company.get(acme.id).daily_credit_limit is None


def test_api_sends_and_approvals_count_against_one_daily_limit(api, tenants, audience):
    acme, bravo = tenants
    limit_to(api, acme, 4)
    assert api.post("/messages/send", acme.member, SMS).status == 201
    deployment = pending_deployment(acme, audience)
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    refused = api.post("/messages/send", acme.member, SMS)
    assert (refused.status, refused.error_code) == (402, "daily_credit_limit")
    message = refused.body["error"]["message"]
    assert "daily credit limit is 4" in message and "today's use is 4" in message
    assert Company.get(acme.id).credits == 996
    assert api.post("/messages/send", bravo.member, SMS).status == 201  # Bravo's day is its own


def test_an_approval_past_the_limit_is_402_and_reserves_nothing(api, tenants, audience):
    acme, _ = tenants
    limit_to(api, acme, 5)
    for _ in range(3):
        assert api.post("/messages/send", acme.member, SMS).status == 201
    deployment = pending_deployment(acme, audience)
    refused = api.post(f"/deployments/{deployment.id}/approve", acme.approver)
    assert (refused.status, refused.error_code) == (402, "daily_credit_limit")
    assert api.get(f"/deployments/{deployment.id}", acme.member).body["status_name"] == "pending_approval"
    assert api.get("/company", acme.member).body["credits_used_today"] == 3


def test_a_new_day_in_the_companys_zone_starts_fresh_and_refunds_give_no_use_back(api, tenants, at_time):
    acme, _ = tenants
    limit_to(api, acme, 2)
    at_time("2026-11-26T23:59:00+02:00")
    for _ in range(2):
        assert api.post("/messages/send", acme.member, SMS).status == 201
    assert api.post("/messages/send", acme.member, SMS).error_code == "daily_credit_limit"
    at_time("2026-11-27T00:00:00+02:00")  # 22:00 UTC: already tomorrow in Johannesburg
    assert api.get("/company", acme.member).body["credits_used_today"] == 0
    assert api.post("/messages/send", acme.member, SMS).status == 201
    assert Company.get(acme.id).credits_used.as_dict() == {"2026-11-27": 1}  # the old day is dropped


def test_parallel_sends_and_an_approval_at_the_daily_limit_never_pass_it(
    api, tenants, audience, atomic_dynamodb
):
    """Twelve one-credit sends and a three-credit approval race for a limit of 10 (of a balance of 1000):
    whatever the timing, no more than 10 are taken, and every refusal is the limit's 402."""
    acme, _ = tenants
    limit_to(api, acme, 10)
    deployment = pending_deployment(acme, audience)
    start = threading.Barrier(13)
    outcomes: list[tuple[str, int, str | None]] = []

    def call(kind, method, path, member, body=None):
        start.wait()
        answer = api.call(method, path, member, body)
        outcomes.append((kind, answer.status, answer.error_code if answer.status >= 400 else None))

    threads = [
        threading.Thread(target=call, args=("send", "POST", "/messages/send", acme.member, SMS))
        for _ in range(12)
    ]
    threads.append(
        threading.Thread(
            target=call, args=("approval", "POST", f"/deployments/{deployment.id}/approve", acme.approver)
        )
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [kind for kind, status, _ in outcomes if status in (200, 201)]
    refused = [(status, code) for _, status, code in outcomes if status not in (200, 201)]
    taken = won.count("send") + 3 * won.count("approval")
    assert 8 <= taken <= 10  # a refusal leaves room only for what could not fit: the approval's 3
    assert set(refused) <= {(402, "daily_credit_limit")} and len(won) + len(refused) == 13
    company = Company.get(acme.id)
    assert 1000 - company.credits == taken
    assert company.credits_used.as_dict() == {"2026-11-26": taken}
