"""The audit log: every admin change is recorded (actor, key, time, object, before and after, never a
secret) in the change's own transaction, and `GET /audit` lists it to admins of its company only."""

from __future__ import annotations

import json

import pytest

from chalicelib import cli
from chalicelib.domain import clock
from chalicelib.models import audit as audit_model
from chalicelib.models.audit import AuditEntry
from chalicelib.models.companies import Company
from chalicelib.models.optouts import OptOut
from chalicelib.models.users import User
from tests.factories import (
    create_contact_list,
    create_contacts,
    create_deployment,
    create_optout,
    later,
    pending_deployment,
)
from tests.integration.test_sessions_api import GOOD, Person


def key_of(member) -> str:
    """How an entry names the API key a tenant's member signs requests with (`ck_<id>_<secret>`)."""
    return f"api_key:{member.api_key.split('_')[1]}"


def log(api, tenant, query: str = "") -> list[dict]:
    """The tenant's audit log as its admin reads it, every page, newest first."""
    return api.every_page(f"/audit{query}", tenant.admin)


def of(api, tenant, object_ref: str) -> list[dict]:
    return log(api, tenant, f"?object={object_ref}")


def stored() -> list[AuditEntry]:
    """Every entry of every company, as the table holds it."""
    return list(AuditEntry.scan(consistent_read=True))


def test_users_created_invited_changed_and_deleted_are_recorded(api, tenants):
    acme, _ = tenants
    made = api.post("/users", acme.admin, {"email": "new@example.com", "role": "member"})
    assert made.status == 201
    user_id = made.body["id"]
    assert api.patch(f"/users/{user_id}", acme.admin, {"role": "approver"}).status == 200
    assert api.post(f"/users/{user_id}/invite", acme.admin).status == 201
    assert api.delete(f"/users/{user_id}", acme.admin).status == 204
    entries = of(api, acme, f"user:{user_id}")
    assert [e["action"] for e in entries] == [
        "user.deleted",
        "user.invited",
        "user.role_changed",
        "user.invited",
        "user.created",
    ]
    for entry in entries:
        assert entry["actor"] == acme.admin.user.id and entry["key"] == key_of(acme.admin)
        assert entry["object"] == {"type": "user", "id": user_id} and entry["at"] == "2026-11-26T08:00:00Z"
    deleted, invited, changed, _, created = entries
    assert created["changes"] == {
        "email": {"before": None, "after": "new@example.com"},
        "role": {"before": None, "after": "member"},
    }
    assert changed["changes"] == {"role": {"before": "member", "after": "approver"}}
    assert invited["changes"]["invite_url"] == {"before": None, "after": "[changed]"}
    assert invited["changes"]["invite_expires"]["after"] == "2026-11-29T08:00:00Z"
    assert deleted["changes"] == {
        "email": {"before": "new@example.com", "after": None},
        "role": {"before": "approver", "after": None},
    }


def test_a_change_refused_leaves_no_entry(api, tenants):
    acme, _ = tenants
    before = len(stored())
    last_admin = api.patch(f"/users/{acme.admin.user.id}", acme.admin, {"role": "member"})
    assert (last_admin.status, last_admin.error_code) == (409, "last_admin")
    assert api.delete(f"/users/{acme.admin.user.id}", acme.admin).error_code == "last_admin"
    admins_key = api.post("/api-keys", acme.admin, {"name": "ci"}).body["id"]
    assert len(stored()) == before + 1  # the key's issue, and nothing of the refusals
    by_member = api.delete(f"/api-keys/{admins_key}", acme.member)
    assert by_member.status == 403
    assert api.post("/users", acme.member, {"email": "x@example.com", "role": "admin"}).status == 403
    assert len(stored()) == before + 1
    assert User.get(acme.id, acme.admin.user.id).role == "admin"


def test_api_keys_issued_and_revoked_are_recorded_without_their_secret(api, tenants):
    acme, _ = tenants
    issued = api.post("/api-keys", acme.admin, {"name": "ci", "user": acme.member.user.id})
    assert issued.status == 201
    key_id = issued.body["id"]
    assert api.delete(f"/api-keys/{key_id}", acme.admin).status == 204
    revoked, made = of(api, acme, f"api_key:{key_id}")
    assert (made["action"], revoked["action"]) == ("api_key.issued", "api_key.revoked")
    assert made["changes"] == {
        "name": {"before": None, "after": "ci"},
        "mode": {"before": None, "after": "live"},
        "secret_hash": {"before": None, "after": "[changed]"},
        "user": {"before": None, "after": acme.member.user.id},
    }
    assert revoked["changes"] == {
        "name": {"before": "ci", "after": None},
        "user": {"before": acme.member.user.id, "after": None},
    }
    assert revoked["key"] == key_of(acme.admin)
    again = api.delete(f"/api-keys/{key_id}", acme.admin)
    assert again.status == 404 and len(of(api, acme, f"api_key:{key_id}")) == 2


def test_company_settings_and_callback_secret_rotations_are_recorded_and_no_secret_is(api, tenants):
    acme, _ = tenants
    changed = api.patch(
        "/company",
        acme.admin,
        {"name": "Acme Ltd", "callback_url": "http://127.0.0.1:9/hooks", "send_rate": 1000},
    )
    assert changed.status == 200, changed.body
    first_secret = changed.body["callback_secret"]
    rotated = api.post("/company/callback-secret", acme.admin)
    assert rotated.status == 200
    assert api.patch("/company", acme.admin, {"name": "Acme Ltd"}).status == 200  # nothing changes
    rotation, update = of(api, acme, f"company:{acme.id}")
    assert update["action"] == "company.updated"
    assert update["changes"] == {
        "callback_secret": {"before": None, "after": "[changed]"},
        "callback_url": {"before": None, "after": "http://127.0.0.1:9/hooks"},
        "name": {"before": "Acme", "after": "Acme Ltd"},
    }
    assert rotation["action"] == "company.callback_secret_rotated"
    assert rotation["changes"] == {
        "callback_secret": {"before": "[changed]", "after": "[changed]"},
        "callback_secret_previous": {"before": None, "after": "[changed]"},
    }
    company = Company.get(acme.id)
    made = api.post("/users", acme.admin, {"email": "new@example.com", "role": "member"}).body
    key = api.post("/api-keys", acme.admin, {"name": "ci"}).body
    tokens = [acme.admin.api_key, made["api_key"], made["invite_url"].rpartition("/")[2], key["api_key"]]
    secrets = [
        first_secret,
        rotated.body["callback_secret"],
        company.webhook_token,
        company.unsubscribe_secret,
        *(token.split("_", 2)[2] for token in tokens),  # `ck_<id>_<secret>`: the secret part
    ]
    held = json.dumps([entry.serialize() for entry in stored()])
    assert "[changed]" in held
    for secret in secrets:
        assert len(secret) >= 20 and secret not in held


def test_an_operator_top_up_is_recorded_with_the_balance_before_and_after(
    api, tenants, capsys, environment_kept
):
    acme, _ = tenants
    assert cli.main(["--stage", "test", "credits", "add", "--company", str(acme.id), "--amount", "500"]) == 0
    assert json.loads(capsys.readouterr().out)["company"]["credits"] == 1500
    (entry,) = log(api, acme, "?object=company&actor=operator")
    assert (entry["action"], entry["actor"], entry["key"]) == ("credits.added", "operator", None)
    assert entry["changes"] == {"credits": {"before": 1000, "after": 1500}}
    assert cli.main(["--stage", "test", "credits", "add", "--company", str(acme.id), "--amount", "0"]) == 1
    assert len(log(api, acme, "?object=company&actor=operator")) == 1


def test_an_optout_overwrite_is_recorded_once(api, tenants):
    acme, _ = tenants
    optout = create_optout(acme.id, "27815854565")
    lifted = api.post(f"/optouts/{optout.id}/overwrite", acme.admin, {"reason": "asked to rejoin"})
    assert lifted.status == 200
    again = api.post(f"/optouts/{optout.id}/overwrite", acme.admin, {"reason": "twice"})
    assert again.error_code == "already_lifted"
    (entry,) = of(api, acme, f"optout:{optout.id}")
    assert entry["action"] == "optout.overwritten" and entry["actor"] == acme.admin.user.id
    assert entry["changes"] == {
        "date_overwritten": {"before": None, "after": "2026-11-26T08:00:00Z"},
        "overwrite_reason": {"before": None, "after": "asked to rejoin"},
        "overwrite_source": {"before": None, "after": "admin"},
        "overwritten_by": {"before": None, "after": acme.admin.user.id},
    }


def _pending(tenant, **fields):
    contact_list = create_contact_list(tenant.id)
    create_contacts(tenant.id, contact_list.id, "27815854565", "27825854565", first_name="Ann")
    return pending_deployment(tenant, [contact_list.id], **fields)


def test_deployment_approvals_rejections_and_cancellations_are_recorded(api, tenants):
    acme, _ = tenants
    scheduled = _pending(acme, send_date=later(days=2))
    assert api.post(f"/deployments/{scheduled.id}/approve", acme.approver).status == 200
    assert api.post(f"/deployments/{scheduled.id}/cancel", acme.admin).status == 200
    cancelled, approved = of(api, acme, f"deployment:{scheduled.id}")
    assert approved["action"] == "deployment.approved" and approved["actor"] == acme.approver.user.id
    assert approved["key"] == key_of(acme.approver)
    assert approved["changes"] == {
        "approved_by": {"before": None, "after": acme.approver.user.id},
        "reserved": {"before": 0, "after": 2},
        "status": {"before": "pending_approval", "after": "approved"},
    }
    assert cancelled["action"] == "deployment.cancelled"
    assert cancelled["changes"] == {
        "reserved": {"before": 2, "after": 0},
        "status": {"before": "approved", "after": "cancelled"},
    }
    rejected = _pending(acme)
    assert api.post(f"/deployments/{rejected.id}/reject", acme.approver, {"reason": "typo"}).status == 200
    (entry,) = of(api, acme, f"deployment:{rejected.id}")
    assert entry["action"] == "deployment.rejected"
    assert entry["changes"] == {
        "error": {"before": None, "after": "Rejected: typo"},
        "status": {"before": "pending_approval", "after": "draft"},
    }
    draft = create_deployment(acme, [create_contact_list(acme.id).id])
    assert api.post(f"/deployments/{draft.id}/cancel", acme.member).status == 200
    (entry,) = of(api, acme, f"deployment:{draft.id}")
    assert entry["actor"] == acme.member.user.id
    assert entry["changes"]["status"] == {"before": "draft", "after": "cancelled"}
    assert [e["action"] for e in of(api, acme, "deployment")] == [
        "deployment.cancelled",
        "deployment.rejected",
        "deployment.cancelled",
        "deployment.approved",
    ]


def test_an_approval_without_the_credits_leaves_no_entry(api, tenants):
    acme, _ = tenants
    Company(id=acme.id).update(actions=[Company.credits.set(1)])
    deployment = _pending(acme)
    refused = api.post(f"/deployments/{deployment.id}/approve", acme.approver)
    assert refused.status == 402
    assert of(api, acme, f"deployment:{deployment.id}") == []


@pytest.fixture
def entry_taken(monkeypatch):
    """The next entry's place in the log is held already: its write, and so the whole transaction of
    the change it records, fails in DynamoDB."""

    def hold(company: int) -> None:
        taken = audit_model.new_entry(
            company, clock.now(), clock.iso(clock.now()), "1", None, "x", "x", "1", {}
        )
        taken.save()
        monkeypatch.setattr(audit_model, "allocate_ids", lambda kind, count=1: range(taken.id, taken.id + 1))

    return hold


def test_a_change_whose_entry_cannot_be_written_is_not_made(api, tenants, entry_taken):
    acme, _ = tenants
    optout = create_optout(acme.id, "27815854565")
    entry_taken(acme.id)
    before = len(stored())
    assert api.patch("/company", acme.admin, {"name": "Acme Ltd"}).status == 500
    assert Company.get(acme.id, consistent_read=True).name == "Acme"
    assert api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "admin"}).status == 500
    assert User.get(acme.id, acme.member.user.id, consistent_read=True).role == "member"
    assert api.post(f"/optouts/{optout.id}/overwrite", acme.admin, {}).status == 500
    assert OptOut.get(acme.id, optout.id, consistent_read=True).date_overwritten is None
    assert len(stored()) == before


def test_an_approval_whose_entry_cannot_be_written_reserves_nothing(api, tenants, entry_taken):
    acme, _ = tenants
    deployment = _pending(acme)
    entry_taken(acme.id)
    before = len(stored())
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 500
    assert Company.get(acme.id, consistent_read=True).credits == 1000
    assert api.get(f"/deployments/{deployment.id}", acme.admin).body["status_name"] == "pending_approval"
    assert len(stored()) == before


def test_filters_by_actor_object_and_time_and_pages_newest_first(api, tenants, at_time):
    acme, _ = tenants
    first_keys = [
        e["object"]["id"] for e in log(api, acme, "?object=api_key")
    ]  # the operator's, made with it
    made = [api.post("/api-keys", acme.admin, {"name": f"key {n}"}).body["id"] for n in range(3)]
    at_time("2026-11-27T10:00:00+02:00")
    api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "approver"})
    own = api.post("/api-keys", acme.member, {}).body["id"]
    keys = log(api, acme, "?object=api_key")
    assert [e["object"]["id"] for e in keys] == [own, *reversed(made), *first_keys]
    assert [e["object"]["id"] for e in log(api, acme, f"?actor={acme.member.user.id}")] == [own]
    by_admin = log(api, acme, f"?actor={acme.admin.user.id}&object=api_key")
    assert [e["object"]["id"] for e in by_admin] == list(reversed(made))
    today = log(api, acme, "?start=2026-11-27&end=2026-11-27")
    assert [e["action"] for e in today] == ["api_key.issued", "user.role_changed"]
    yesterday = log(api, acme, "?start=2026-11-26&end=2026-11-26&object=api_key")
    assert [e["object"]["id"] for e in yesterday] == [*reversed(made), *first_keys]
    first = api.get("/audit?object=api_key&page_size=2", acme.admin)
    assert [e["object"]["id"] for e in first.body["results"]] == [own, made[2]]
    rest = api.get(f"/audit?object=api_key&page_size=2&cursor={first.body['next']}", acme.admin)
    assert [e["object"]["id"] for e in rest.body["results"]] == [made[1], made[0]]
    last = api.get(f"/audit?object=api_key&page_size=4&cursor={rest.body['next']}", acme.admin)
    assert ([e["object"]["id"] for e in last.body["results"]], last.body["next"]) == (first_keys, None)
    later_cursor = api.get(f"/audit?object=api_key&start=2026-11-28&cursor={first.body['next']}", acme.admin)
    assert (later_cursor.status, list(later_cursor.body["error"]["fields"])) == (400, ["cursor"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("actor=ann", "actor"),
        ("object=deployment:abc", "object"),
        ("object=Deployment", "object"),
        ("start=yesterday", "start"),
        ("start=2026-11-27&end=2026-11-26", "end"),
        ("colour=red", "colour"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api, tenants, query, field):
    acme, _ = tenants
    answer = api.get(f"/audit?{query}", acme.admin)
    assert answer.status == 400 and list(answer.body["error"]["fields"]) == [field]


def test_only_admins_read_the_log_and_only_their_own_companys(api, tenants):
    acme, bravo = tenants
    assert api.patch("/company", bravo.admin, {"name": "Bravo Ltd"}).status == 200
    for role in ("member", "approver"):
        assert api.get("/audit", acme.as_role(role)).status == 403
    assert api.get("/audit", None).status == 401
    assert of(api, acme, f"company:{bravo.id}") == []
    assert all(e["object"] != {"type": "company", "id": bravo.id} for e in log(api, acme))
    assert log(api, acme, f"?actor={bravo.admin.user.id}") == []
    (bravos,) = of(api, bravo, f"company:{bravo.id}")
    assert bravos["changes"]["name"] == {"before": "Bravo", "after": "Bravo Ltd"}
    bravo_cursor = api.get("/audit?page_size=1", bravo.admin).body["next"]
    assert api.get(f"/audit?cursor={bravo_cursor}", acme.admin).status == 400


def test_a_person_signed_in_is_recorded_with_their_session(api, tenants):
    acme, _ = tenants
    made = api.post("/users", acme.admin, {"email": "boss@example.com", "role": "admin"}).body
    chosen = api.post(
        "/passwords",
        None,
        {"token": made["invite_url"].rpartition("/")[2], "password": "correct horse battery"},
    )
    assert chosen.status == 201, chosen.body
    person = Person(chosen.body["token"])
    assert api.patch(f"/users/{acme.member.user.id}", person, {"role": "approver"}).status == 200
    (entry,) = [e for e in log(api, acme, f"?actor={made['id']}") if e["action"] == "user.role_changed"]
    assert entry["key"] == f"session:{chosen.body['id']}"
    assert entry["at"] == "2026-11-26T08:00:00Z"


def test_a_paused_deployment_cancelled_is_recorded_with_its_settlement(api, tenants):
    acme, _ = tenants
    deployment = _pending(acme)
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).body["status_name"] == "sending"
    assert api.post(f"/deployments/{deployment.id}/pause", acme.member).status == 200
    cancelled = api.post(f"/deployments/{deployment.id}/cancel", acme.admin)
    assert cancelled.body["status_name"] == "cancelled"
    entry = of(api, acme, f"deployment:{deployment.id}")[0]
    assert (entry["action"], entry["actor"]) == ("deployment.cancelled", acme.admin.user.id)
    assert entry["changes"] == {
        "reserved": {"before": 2, "after": 0},
        "status": {"before": "paused", "after": "cancelled"},
    }
    assert Company.get(acme.id).credits == 1000


def test_a_password_changed_is_recorded_as_changed_only(api, tenants):
    acme, _ = tenants
    made = api.post("/users", acme.admin, {"email": "ann@example.com", "role": "member"}).body
    chosen = api.post("/passwords", None, {"token": made["invite_url"].rpartition("/")[2], "password": GOOD})
    person = Person(chosen.body["token"])
    new_password = "another correct horse"
    changed = api.put(
        f"/users/{made['id']}/password", person, {"current_password": GOOD, "password": new_password}
    )
    assert changed.status == 200, changed.body
    by_person, by_link = [
        e for e in of(api, acme, f"user:{made['id']}") if e["action"] == "user.password_changed"
    ]
    assert by_person["key"] == f"session:{chosen.body['id']}" and by_link["key"] is None
    assert by_person["changes"] == {"password_hash": {"before": "[changed]", "after": "[changed]"}}
    assert by_link["changes"] == {"password_hash": {"before": None, "after": "[changed]"}}
    held = json.dumps([entry.serialize() for entry in stored()])
    assert GOOD not in held and new_password not in held
    assert User.get(acme.id, made["id"]).password_hash.split("$")[-1] not in held


def test_the_operator_assigning_and_removing_numbers_is_recorded(api, tenants, capsys, environment_kept):
    acme, _ = tenants
    company = ["--company", str(acme.id)]
    assert cli.main(["--stage", "test", "sender", "add", *company, "--number", "0821234567"]) == 0
    assert api.patch("/company", acme.admin, {"sender_id": "27821234567"}).status == 200
    assert cli.main(["--stage", "test", "sender", "remove", *company, "--number", "0821234567"]) == 0
    capsys.readouterr()
    removed, chosen, added = log(api, acme, f"?object=company:{acme.id}")
    assert added["actor"] == "operator" and added["changes"] == {
        "sender_numbers": {"before": [], "after": ["27821234567"]}
    }
    assert chosen["changes"] == {"sender_id": {"before": None, "after": "27821234567"}}
    assert removed["changes"] == {
        "sender_id": {"before": "27821234567", "after": None},
        "sender_numbers": {"before": ["27821234567"], "after": []},
    }


def test_a_key_held_to_networks_is_recorded_with_its_networks_before_and_after(api, tenants):
    acme, _ = tenants
    issued = api.post("/api-keys", acme.admin, {"name": "ci", "allowed_ips": ["192.0.2.0/24"]})
    key_id = issued.body["id"]
    changed = api.patch(f"/api-keys/{key_id}", acme.admin, {"allowed_ips": ["198.51.100.7/32"]})
    assert changed.status == 200, changed.body
    updated, made = of(api, acme, f"api_key:{key_id}")
    assert made["changes"]["allowed_ips"] == {"before": None, "after": ["192.0.2.0/24"]}
    assert (updated["action"], updated["changes"]) == (
        "api_key.updated",
        {"allowed_ips": {"before": ["192.0.2.0/24"], "after": ["198.51.100.7/32"]}},
    )
