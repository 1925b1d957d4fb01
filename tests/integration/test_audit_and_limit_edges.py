"""The audit log and the limits at their edges: every change a route makes is recorded, and no key
can widen its own limits."""

from __future__ import annotations

import pytest
from chalice import local

from chalicelib.models.api_keys import ApiKey
from tests.factories import Member, later
from tests.integration.test_audit_log import log, of
from tests.integration.test_limits import key_id


@pytest.fixture
def calling_from(monkeypatch):
    """Calls come from this address (API Gateway's `sourceIp`), as in test_limits."""

    def set_to(address: str) -> None:
        monkeypatch.setattr(local.LambdaEventConverter, "LOCAL_SOURCE_IP", address)

    return set_to


def test_the_first_api_key_post_users_issues_is_audited(api, tenants):
    acme, _ = tenants
    made = api.post("/users", acme.admin, {"email": "keyed@example.com", "role": "member"})
    assert made.status == 201, made.body
    new_key = int(made.body["api_key"].split("_")[1])
    assert ApiKey.get(new_key).user == made.body["id"]
    assert [e["action"] for e in of(api, acme, f"api_key:{new_key}")] == ["api_key.issued"]


def test_deleting_a_user_audits_the_revocation_of_their_keys(api, tenants):
    acme, _ = tenants
    extra = api.post("/api-keys", acme.admin, {"user": acme.member.user.id, "name": "second"})
    assert extra.status == 201, extra.body
    keys = {key_id(acme.member), extra.body["id"]}
    assert api.delete(f"/users/{acme.member.user.id}", acme.admin).status == 204
    assert all(ApiKey.get_or_none(k) is None for k in keys)
    revoked = {e["object"]["id"] for e in of(api, acme, "api_key") if e["action"] == "api_key.revoked"}
    assert revoked == keys


def test_a_patch_that_changes_no_network_records_no_entry(api, tenants):
    acme, _ = tenants
    path = f"/api-keys/{key_id(acme.member)}"
    assert api.patch(path, acme.member, {"allowed_ips": None}).status == 200
    assert api.patch(path, acme.member, {"allowed_ips": []}).status == 200
    assert [e for e in log(api, acme) if e["action"] == "api_key.updated"] == []


def test_an_ipv4_mapped_network_is_refused_or_matches_its_ipv4_callers(api, tenants, calling_from):
    acme, _ = tenants
    made = api.post("/api-keys", acme.member, {"allowed_ips": ["::ffff:203.0.113.0/120"]})
    if made.status == 400:
        assert list(made.body["error"]["fields"]) == ["allowed_ips"]
        return
    assert made.status == 201, made.body
    limited = Member(acme.member.user, made.body["api_key"])
    for inside in ("203.0.113.5", "::ffff:203.0.113.5"):
        calling_from(inside)
        assert api.get("/company", limited).status == 200, inside


def test_an_approval_run_by_its_task_is_recorded_with_the_requests_credential(
    api, tenants, pump, monkeypatch
):
    from chalicelib.domain.deployments import approvals
    from tests.integration.test_audit_log import _pending, key_of

    acme, _ = tenants
    monkeypatch.setattr(approvals, "SYNC_AUDIENCE", 1)
    deployment = _pending(acme, send_date=later(days=1))
    answer = api.post(f"/deployments/{deployment.id}/approve", acme.approver)
    assert answer.status == 202, answer.body
    pump.drain()
    (entry,) = of(api, acme, f"deployment:{deployment.id}")
    assert entry["action"] == "deployment.approved"
    assert entry["actor"] == acme.approver.user.id
    assert entry["key"] == key_of(acme.approver)


def test_an_expiring_key_cannot_mint_a_key_that_outlives_it(api, tenants, at_time):
    acme, _ = tenants
    made = api.post("/api-keys", acme.member, {"expires_at": later(hours=1)})
    expiring = Member(acme.member.user, made.body["api_key"])
    minted = api.post("/api-keys", expiring, {"name": "forever"})
    at_time("2026-11-26T12:00:00+02:00")  # an hour past the first key's expiry
    assert api.get("/company", expiring).error_code == "api_key_expired"
    if minted.status == 201:
        successor = Member(acme.member.user, minted.body["api_key"])
        assert api.get("/company", successor).status == 401, minted.body


def test_a_key_held_to_networks_cannot_mint_a_key_that_works_anywhere(api, tenants, calling_from):
    acme, _ = tenants
    made = api.post("/api-keys", acme.member, {"allowed_ips": ["203.0.113.0/24"]})
    held = Member(acme.member.user, made.body["api_key"])
    calling_from("203.0.113.7")
    minted = api.post("/api-keys", held, {"name": "anywhere"})
    calling_from("198.51.100.1")
    assert api.get("/company", held).error_code == "ip_not_allowed"
    if minted.status == 201:
        successor = Member(acme.member.user, minted.body["api_key"])
        assert api.get("/company", successor).status == 403, minted.body


def test_a_bulk_of_only_bad_items_is_not_refused_by_a_limit_lowered_below_the_days_use(api, tenants):
    from tests.integration.test_limits import SMS, limit_to

    acme, _ = tenants
    limit_to(api, acme, 3)
    for _ in range(3):
        assert api.post("/messages/send", acme.member, SMS).status == 201
    limit_to(api, acme, 1)
    answer = api.post("/messages/bulk", acme.member, [{"destination": "123", "message": "bad number"}])
    assert answer.status == 202, answer.body
    assert (answer.body["accepted"], answer.body["credits"]) == (0, 0)
    assert [r["index"] for r in answer.body["rejected"]] == [0]


def test_a_key_held_to_networks_cannot_lift_its_own_networks(api, tenants, calling_from):
    acme, _ = tenants
    path = f"/api-keys/{key_id(acme.member)}"
    assert api.patch(path, acme.admin, {"allowed_ips": ["203.0.113.0/24"]}).status == 200
    calling_from("203.0.113.7")
    lifted = api.patch(path, acme.member, {"allowed_ips": None})
    calling_from("198.51.100.1")
    assert api.get("/company", acme.member).error_code == "ip_not_allowed", lifted.body


def test_the_functions_may_scan_the_companies_the_nightly_retention_reads():
    import json
    import pathlib

    template = json.loads((pathlib.Path(__file__).parents[2] / "infra" / "resources.json").read_text())
    statements = template["Resources"]["DataAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    granted = {action for statement in statements for action in statement["Action"]}
    assert "dynamodb:Scan" in granted


def test_the_operator_creating_a_company_records_its_first_admin_and_key(aws, capsys, environment_kept):
    import json

    from chalicelib import cli
    from chalicelib.models.audit import AuditEntry

    args = ["--stage", "test", "company", "create", "--name", "Foxtrot", "--email", "f@foxtrot.example"]
    assert cli.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    company, admin = printed["company"]["id"], printed["user"]["id"]
    entries = list(AuditEntry.query(company, consistent_read=True))
    assert ("user.created", str(admin)) in {(e.action, e.object_id) for e in entries}
    assert "api_key.issued" in {e.action for e in entries}


def test_a_test_key_makes_only_test_keys(api, tenants):
    acme, _ = tenants
    made = api.post("/api-keys", acme.admin, {"name": "sandbox", "mode": "test"})
    test_key = Member(acme.admin.user, made.body["api_key"])
    live = api.post("/api-keys", test_key, {"name": "escalated"})
    assert (live.status, live.error_code) == (403, "test_key"), live.body
    another = api.post("/api-keys", test_key, {"name": "sandbox 2", "mode": "test"})
    assert another.status == 201 and another.body["mode"] == "test", another.body
