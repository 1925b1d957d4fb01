from chalicelib.models.api_keys import ApiKey
from chalicelib.models.users import User
from tests.factories import Member, create_user


def test_admin_adds_a_user_whose_key_works_at_once(api, tenants):
    acme, _ = tenants
    answer = api.post("/users", acme.admin, {"email": "Zoe@Acme.Example", "role": "approver"})
    assert answer.status == 201
    assert answer.body["email"] == "zoe@acme.example"
    assert answer.body["role"] == "approver"
    assert answer.body["company"] == acme.id
    new = Member(user=User.get(acme.id, answer.body["id"]), api_key=answer.body["api_key"])
    assert api.get("/company", new).body["id"] == acme.id
    assert answer.body["api_key"] not in str(
        ApiKey.get(int(answer.body["api_key"].split("_")[1])).attribute_values
    )


def test_only_admins_add_users(api, tenants):
    acme, _ = tenants
    for role in ("approver", "member"):
        answer = api.post("/users", acme.as_role(role), {"email": f"{role}2@acme.example", "role": "admin"})
        assert answer.status == 403
    assert len(list(User.query(acme.id))) == 3


def test_an_email_is_taken_once_per_company(api, tenants):
    acme, bravo = tenants
    assert api.post("/users", acme.admin, {"email": "sam@x.example", "role": "member"}).status == 201
    again = api.post("/users", acme.admin, {"email": "SAM@x.example ", "role": "admin"})
    assert again.status == 409
    assert again.error_code == "duplicate_email"
    assert api.post("/users", bravo.admin, {"email": "sam@x.example", "role": "member"}).status == 201


def test_bad_user_input_is_400_by_field(api, tenants):
    acme, _ = tenants
    answer = api.post("/users", acme.admin, {"email": "not-an-email", "role": "owner"})
    assert answer.status == 400
    assert set(answer.body["error"]["fields"]) == {"email"} or set(answer.body["error"]["fields"]) == {"role"}
    assert api.post("/users", acme.admin, {"role": "member"}).body["error"]["fields"] == {
        "email": ["is required"]
    }
    assert api.post("/users", acme.admin, {"email": "a@b.example", "role": "owner"}).body["error"][
        "fields"
    ] == {"role": ["must be one of admin, approver, member"]}
    assert len(list(User.query(acme.id))) == 3


def test_users_page_through_the_company_only(api, tenants):
    acme, bravo = tenants
    for n in range(4):
        create_user(acme.id, email=f"extra{n}@acme.example")
    seen, cursor, pages = [], None, 0
    while True:
        path = "/users?page_size=2" + (f"&cursor={cursor}" if cursor else "")
        answer = api.get(path, acme.admin)
        assert answer.status == 200
        assert len(answer.body["results"]) <= 2
        seen += [u["id"] for u in answer.body["results"]]
        pages += 1
        cursor = answer.body["next"]
        if cursor is None:
            break
    assert pages == 4
    assert sorted(seen) == sorted(u.id for u in User.query(acme.id))
    assert not {u.id for u in User.query(bravo.id)} & set(seen)


def test_a_cursor_from_another_company_or_garbage_is_400(api, tenants):
    acme, bravo = tenants
    bravo_cursor = api.get("/users?page_size=1", bravo.admin).body["next"]
    for cursor in (bravo_cursor, "garbage", "eyJ4IjogMX0"):
        answer = api.get(f"/users?cursor={cursor}", acme.admin)
        assert answer.status == 400
        assert answer.body["error"]["fields"] == {"cursor": ["is not a cursor from this list"]}


def test_page_size_is_checked(api, tenants):
    acme, _ = tenants
    for size in ("0", "1001", "ten", "-1"):
        assert api.get(f"/users?page_size={size}", acme.admin).status == 400
    assert api.get("/users?page_size=1000", acme.admin).status == 200


def test_members_read_themselves_only(api, tenants):
    acme, _ = tenants
    assert api.get(f"/users/{acme.member.user.id}", acme.member).body["email"] == acme.member.user.email
    assert api.get(f"/users/{acme.admin.user.id}", acme.member).status == 403
    assert api.get("/users", acme.member).status == 403


def test_another_companys_user_is_404_for_every_method(api, tenants):
    acme, bravo = tenants
    target = f"/users/{bravo.member.user.id}"
    assert api.get(target, acme.admin).status == 404
    assert api.patch(target, acme.admin, {"role": "admin"}).status == 404
    assert api.delete(target, acme.admin).status == 404
    assert User.get(bravo.id, bravo.member.user.id).role == "member"
    assert api.get("/company", bravo.member).status == 200


def test_role_changes_keep_at_least_one_admin(api, tenants):
    acme, _ = tenants
    promoted = api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "admin"})
    assert promoted.body["role"] == "admin"
    assert api.patch(f"/users/{acme.admin.user.id}", acme.admin, {"role": "member"}).status == 200
    last = api.patch(f"/users/{acme.member.user.id}", acme.member, {"role": "approver"})
    assert last.status == 409
    assert last.error_code == "last_admin"
    assert User.get(acme.id, acme.member.user.id).role == "admin"


def test_email_cannot_be_changed_and_unknown_roles_are_refused(api, tenants):
    acme, _ = tenants
    target = f"/users/{acme.member.user.id}"
    assert api.patch(target, acme.admin, {"email": "new@acme.example"}).body["error"]["fields"] == {
        "email": ["is read-only"]
    }
    assert api.patch(target, acme.admin, {"role": "boss"}).status == 400


def test_deleting_a_user_revokes_its_keys_and_frees_its_email(api, tenants):
    acme, _ = tenants
    assert api.delete(f"/users/{acme.member.user.id}", acme.admin).status == 204
    assert api.get("/company", acme.member).status == 401
    assert api.get(f"/users/{acme.member.user.id}", acme.admin).status == 404
    assert list(ApiKey.by_company.query(acme.id, filter_condition=ApiKey.user == acme.member.user.id)) == []
    again = api.post("/users", acme.admin, {"email": acme.member.user.email, "role": "member"})
    assert again.status == 201


def test_the_last_admin_cannot_be_deleted(api, tenants):
    acme, _ = tenants
    answer = api.delete(f"/users/{acme.admin.user.id}", acme.admin)
    assert answer.status == 409
    assert api.get("/company", acme.admin).status == 200


def test_ids_are_integers_and_junk_ids_are_404(api, tenants):
    acme, _ = tenants
    assert isinstance(api.get(f"/users/{acme.admin.user.id}", acme.admin).body["id"], int)
    for junk in ("abc", "1.5", "-1", "9" * 30, "%C2%B2"):
        assert api.get(f"/users/{junk}", acme.admin).status == 404
