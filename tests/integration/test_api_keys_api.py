from chalicelib.models.api_keys import ApiKey
from tests.factories import Member


def test_a_new_key_works_and_is_listed_without_its_secret(api, tenants):
    acme, _ = tenants
    answer = api.post("/api-keys", acme.member, {"name": "zapier"})
    assert answer.status == 201
    token = answer.body["api_key"]
    assert api.get("/company", Member(acme.member.user, token)).status == 200
    listed = api.get("/api-keys", acme.member).body["results"]
    assert {k["id"] for k in listed} == {answer.body["id"], int(acme.member.api_key.split("_")[1])}
    assert all(
        set(k)
        == {"id", "user", "name", "mode", "date_created", "allowed_ips", "expires_at", "last_used", "test"}
        for k in listed
    )
    assert token.split("_", 2)[2] not in str(ApiKey.get(answer.body["id"]).attribute_values)


def test_a_key_can_be_made_without_a_body(api, tenants):
    acme, _ = tenants
    assert api.call("POST", "/api-keys", acme.member).status == 201


def test_members_see_their_own_keys_admins_see_all(api, tenants):
    acme, bravo = tenants
    admin_view = {k["user"] for k in api.get("/api-keys", acme.admin).body["results"]}
    assert admin_view == {acme.admin.user.id, acme.approver.user.id, acme.member.user.id}
    assert {k["user"] for k in api.get("/api-keys", acme.member).body["results"]} == {acme.member.user.id}
    assert bravo.admin.user.id not in admin_view


def test_keys_for_other_users_need_an_admin(api, tenants):
    acme, bravo = tenants
    assert api.post("/api-keys", acme.member, {"user": acme.approver.user.id}).status == 403
    made = api.post("/api-keys", acme.admin, {"user": acme.approver.user.id})
    assert made.status == 201
    assert made.body["user"] == acme.approver.user.id
    assert api.post("/api-keys", acme.admin, {"user": bravo.member.user.id}).status == 404


def test_revoking_a_key_stops_it(api, tenants):
    acme, _ = tenants
    key_id = int(acme.member.api_key.split("_")[1])
    assert api.delete(f"/api-keys/{key_id}", acme.member).status == 204
    assert api.get("/company", acme.member).status == 401
    assert api.delete(f"/api-keys/{key_id}", acme.admin).status == 404


def test_members_cannot_revoke_others_keys(api, tenants):
    acme, _ = tenants
    admin_key = int(acme.admin.api_key.split("_")[1])
    assert api.delete(f"/api-keys/{admin_key}", acme.member).status == 403
    assert api.get("/company", acme.admin).status == 200


def test_another_companys_key_is_404_and_survives(api, tenants):
    acme, bravo = tenants
    bravo_key = int(bravo.member.api_key.split("_")[1])
    assert api.delete(f"/api-keys/{bravo_key}", acme.admin).status == 404
    assert api.get("/company", bravo.member).status == 200
