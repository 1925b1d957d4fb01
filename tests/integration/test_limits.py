"""Limits that contain a leaked key: the daily credit limit, allowed IPs, key expiry and last use, and the
per-company request limit."""

from __future__ import annotations

import threading

import pytest
from chalice import local

from chalicelib.models.api_keys import ApiKey
from chalicelib.models.companies import Company
from tests.factories import Member, create_contact_list, create_contacts, later, pending_deployment

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
    whatever the timing, exactly 10 are taken (twelve sends can fill it), never more, and every refusal
    is the limit's 402."""
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
    assert taken == 10  # the sends fill whatever room the approval leaves, or the approval finds none
    assert set(refused) <= {(402, "daily_credit_limit")} and len(won) + len(refused) == 13
    company = Company.get(acme.id)
    assert 1000 - company.credits == taken
    assert company.credits_used.as_dict() == {"2026-11-26": taken}


def key_id(member: Member) -> int:
    return int(member.api_key.split("_")[1])


@pytest.fixture
def calling_from(monkeypatch):
    """Calls come from this address (as API Gateway's `sourceIp` says), not the local 127.0.0.1."""

    def set_to(address: str) -> None:
        monkeypatch.setattr(local.LambdaEventConverter, "LOCAL_SOURCE_IP", address)

    return set_to


def test_a_key_works_only_from_its_allowed_networks_v4_and_v6(api, tenants, calling_from):
    acme, _ = tenants
    made = api.post(
        "/api-keys", acme.member, {"allowed_ips": ["203.0.113.0/24", "2001:db8::/32", "192.0.2.9"]}
    )
    assert made.status == 201, made.body
    assert made.body["allowed_ips"] == ["203.0.113.0/24", "2001:db8::/32", "192.0.2.9/32"]
    limited = Member(acme.member.user, made.body["api_key"])
    for inside in ("203.0.113.7", "2001:db8:0:1::5", "192.0.2.9", "::ffff:203.0.113.8"):
        calling_from(inside)
        assert api.get("/company", limited).status == 200, inside
    for outside in ("198.51.100.1", "203.0.114.1", "2001:db9::1", "192.0.2.10"):
        calling_from(outside)
        refused = api.get("/company", limited)
        assert (refused.status, refused.error_code) == (403, "ip_not_allowed"), outside
        assert api.get("/company", acme.member).status == 200  # a key without networks works anywhere


@pytest.mark.parametrize(
    "networks",
    [
        ["10.0.0.1/24"],
        ["not-an-ip"],
        ["10.0.0.0/33"],
        ["2001:db8::/129"],
        [5],
        "10.0.0.0/8",
        ["1.2.3.4"] * 51,
    ],
)
def test_bad_allowed_ips_are_400_naming_the_field(api, tenants, networks):
    acme, _ = tenants
    answer = api.post("/api-keys", acme.member, {"allowed_ips": networks})
    assert answer.status == 400
    assert list(answer.body["error"]["fields"]) == ["allowed_ips"]
    changed = api.patch(f"/api-keys/{key_id(acme.member)}", acme.member, {"allowed_ips": networks})
    assert changed.status == 400 and list(changed.body["error"]["fields"]) == ["allowed_ips"]
    assert ApiKey.get(key_id(acme.member)).allowed_ips is None


def test_a_host_bit_past_the_prefix_is_named_with_the_network_meant(api, tenants):
    acme, _ = tenants
    answer = api.post("/api-keys", acme.member, {"allowed_ips": ["10.0.0.1/24"]})
    assert "the network is 10.0.0.0/24" in answer.body["error"]["fields"]["allowed_ips"][0]


def test_the_owner_or_an_admin_changes_a_keys_networks(api, tenants, calling_from):
    acme, _ = tenants
    path = f"/api-keys/{key_id(acme.member)}"
    changed = api.patch(path, acme.member, {"allowed_ips": ["198.51.100.0/24"]})
    assert (changed.status, changed.body["allowed_ips"]) == (200, ["198.51.100.0/24"])
    calling_from("203.0.113.7")
    assert api.get("/company", acme.member).error_code == "ip_not_allowed"
    assert (
        api.patch(f"/api-keys/{key_id(acme.admin)}", acme.member, {"allowed_ips": ["10.0.0.0/8"]}).status
        == 403
    )
    assert api.patch(path, acme.admin, {"allowed_ips": None}).body["allowed_ips"] is None
    assert api.get("/company", acme.member).status == 200
    assert api.patch(path, acme.member, {}).status == 200
    assert api.patch(path, acme.member, {"name": "renamed"}).status == 400  # only the networks change


def test_another_companys_key_is_404_for_patch_and_keeps_its_networks(api, tenants):
    acme, bravo = tenants
    answer = api.patch(f"/api-keys/{key_id(bravo.member)}", acme.admin, {"allowed_ips": ["10.0.0.0/8"]})
    assert (answer.status, answer.error_code) == (404, "not_found")
    assert api.patch("/api-keys/999999", acme.admin, {"allowed_ips": None}).status == 404
    assert ApiKey.get(key_id(bravo.member)).allowed_ips is None
    assert api.get("/company", bravo.member).status == 200


def test_an_expired_key_is_401_with_its_own_code(api, tenants, at_time):
    acme, _ = tenants
    made = api.post("/api-keys", acme.member, {"expires_at": later(hours=1)})
    assert made.status == 201 and made.body["expires_at"] == later(hours=1)
    expiring = Member(acme.member.user, made.body["api_key"])
    assert api.get("/company", expiring).status == 200
    at_time("2026-11-26T11:00:00+02:00")  # the moment it expires
    refused = api.get("/company", expiring)
    assert (refused.status, refused.error_code) == (401, "api_key_expired")
    assert api.get("/company", acme.member).status == 200


@pytest.mark.parametrize(
    "expires_at",
    [
        "2026-11-26T07:59:59Z",
        "2026-11-26T08:00:00Z",
        "tomorrow",
        "2027-01-01T00:00",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_an_expiry_not_in_the_future_or_unreadable_is_400(api, tenants, expires_at):
    acme, _ = tenants
    answer = api.post("/api-keys", acme.member, {"expires_at": expires_at})
    assert answer.status == 400 and list(answer.body["error"]["fields"]) == ["expires_at"]


def test_last_used_is_written_once_a_day_and_listed(api, tenants, at_time, dynamodb_calls):
    acme, _ = tenants
    keys_table = ApiKey.Meta.table_name
    assert ApiKey.get(key_id(acme.member)).last_used is None
    assert api.get("/company", acme.member).status == 200
    assert ApiKey.get(key_id(acme.member)).last_used == "2026-11-26"
    dynamodb_calls.clear()
    for _ in range(3):
        assert api.get("/company", acme.member).status == 200
    assert ("UpdateItem", keys_table) not in dynamodb_calls
    at_time("2026-11-27T09:00:00+02:00")
    listed = {k["id"]: k for k in api.get("/api-keys", acme.member).body["results"]}
    assert listed[key_id(acme.member)]["last_used"] == "2026-11-27"
    assert dynamodb_calls.count(("UpdateItem", keys_table)) == 1


@pytest.fixture
def request_limit(monkeypatch):
    monkeypatch.setenv("COLONY_REQUEST_LIMIT", "3")
    monkeypatch.setenv("COLONY_REQUEST_WINDOW_SECONDS", "60")


def test_a_company_past_its_request_limit_is_429_until_the_next_window(api, tenants, at_time, request_limit):
    acme, bravo = tenants
    at_time("2026-11-26T10:00:20+02:00")
    for member in (acme.member, acme.admin, acme.member):
        assert api.get("/company", member).status == 200
    refused = api.get("/company", acme.admin)
    assert (refused.status, refused.error_code) == (429, "too_many_requests")
    assert refused.headers["Retry-After"] == "40"
    assert api.get("/company", bravo.member).status == 200  # each company has its own count
    assert api.get("/health").status == 200  # public routes are not counted
    at_time("2026-11-26T10:00:59+02:00")
    assert api.get("/company", acme.member).headers["Retry-After"] == "1"
    at_time("2026-11-26T10:01:00+02:00")
    assert api.get("/company", acme.member).status == 200


def test_the_request_limit_costs_one_dynamodb_request_per_call(api, tenants, dynamodb_calls):
    acme, _ = tenants
    from chalicelib.models.counters import Counter

    api.get("/company", acme.member)  # the day's last_used is written once
    dynamodb_calls.clear()
    api.get("/company", acme.member)
    assert dynamodb_calls.count(("UpdateItem", Counter.Meta.table_name)) == 1
    assert len(dynamodb_calls) == 2  # the key and its company in one BatchGetItem, the window's count


def test_the_local_server_gives_the_connections_peer_as_the_source_ip(aws):
    """`make run` checks allowed_ips against the caller's real address, as API Gateway gives it."""
    from chalice.config import Config

    from app import app
    from chalicelib.local.api_server import ColonyGateway

    gateway = ColonyGateway(app, Config.create(chalice_app=app, lambda_timeout=30), peer="198.51.100.7")
    event = gateway._generate_lambda_event("GET", "/company", {}, b"")
    assert event["requestContext"]["identity"]["sourceIp"] == "198.51.100.7"


def test_a_limit_changed_after_the_send_read_it_is_read_again_not_refused(api, tenants, monkeypatch):
    from chalicelib.domain.sending import api_messages

    acme, _ = tenants
    limit_to(api, acme, 1)
    assert api.post("/messages/send", acme.member, SMS).status == 201
    stale = Company.get(acme.id)
    limit_to(api, acme, 2)
    monkeypatch.setattr(api_messages, "get_company", lambda caller: stale)
    assert api.post("/messages/send", acme.member, SMS).status == 201
    refused = api.post("/messages/send", acme.member, SMS)
    assert (refused.status, refused.error_code) == (402, "daily_credit_limit")
    assert Company.get(acme.id).credits == 998


def test_an_approval_that_read_another_limit_is_409_and_takes_nothing(api, tenants, audience, monkeypatch):
    from chalicelib.domain.deployments import approvals

    acme, _ = tenants
    deployment = pending_deployment(acme, audience)
    stale = Company.get(acme.id)
    limit_to(api, acme, 100)
    monkeypatch.setattr(approvals, "get_company", lambda caller: stale)
    answer = api.post(f"/deployments/{deployment.id}/approve", acme.approver)
    assert (answer.status, answer.error_code) == (409, "concurrent_change")
    assert Company.get(acme.id).credits == 1000
    monkeypatch.undo()
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200


def test_a_company_that_never_counted_a_day_starts_its_count_with_its_first_take(api, tenants):
    acme, _ = tenants
    Company(id=acme.id).update(actions=[Company.credits_used.remove()])  # as companies made before limits
    limit_to(api, acme, 1)
    assert api.post("/messages/send", acme.member, SMS).status == 201
    assert Company.get(acme.id).credits_used.as_dict() == {"2026-11-26": 1}
    assert api.post("/messages/send", acme.member, SMS).error_code == "daily_credit_limit"
