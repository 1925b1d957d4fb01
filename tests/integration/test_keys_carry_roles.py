"""An API key carries its user's role, so one read authenticates it; revoking it, deleting its user or
changing the user's role still takes effect on the very next call."""

from chalicelib.domain.accounts import api_keys
from chalicelib.domain.accounts.auth import KEY_PREFIX, TEST_KEY_PREFIX, key_names, new_key, parse_token
from chalicelib.domain.accounts.users import MAX_KEYS_PER_USER
from chalicelib.models.api_keys import ApiKey
from chalicelib.models.audit import AuditEntry
from chalicelib.models.companies import Company
from chalicelib.models.sessions import Session
from chalicelib.models.users import User
from tests.factories import Member


def _second_key(api, member: Member, mode: str = "live") -> Member:
    made = api.post("/api-keys", member, {"mode": mode})
    assert made.status == 201, made.body
    return Member(user=member.user, api_key=made.body["api_key"])


def _key_id(member: Member) -> int:
    parsed = parse_token(member.api_key, (KEY_PREFIX, TEST_KEY_PREFIX))
    assert parsed is not None
    return parsed[1]


def test_a_key_call_reads_the_key_and_its_company_in_one_request(api, tenants, dynamodb_calls):
    acme, _ = tenants
    api.get("/contact-lists", acme.member)  # the day's last_used is written once
    dynamodb_calls.clear()
    assert api.get("/contact-lists", acme.member).status == 200
    assert [op for op, _ in dynamodb_calls if op in ("GetItem", "BatchGetItem")] == ["BatchGetItem"]
    assert ("GetItem", User.Meta.table_name) not in dynamodb_calls
    dynamodb_calls.clear()
    assert api.get("/company", acme.member).body["id"] == acme.id
    assert [op for op, _ in dynamodb_calls] == ["BatchGetItem", "UpdateItem"]  # and the request limit's


def test_a_test_keys_call_reads_its_test_tenant_with_it(api, tenants, dynamodb_calls):
    acme, _ = tenants
    test_key = _second_key(api, acme.member, "test")
    assert api.get("/company", test_key).body["id"] == -acme.id  # the day's last_used is written once
    dynamodb_calls.clear()
    assert api.get("/company", test_key).body["id"] == -acme.id
    assert [op for op, _ in dynamodb_calls] == ["BatchGetItem", "UpdateItem"]


def test_the_company_a_call_read_is_not_kept_for_the_next_call(api, tenants):
    acme, _ = tenants
    before = api.get("/company", acme.member).body["credits"]
    Company.get(acme.id).update(actions=[Company.credits.add(5)])
    assert api.get("/company", acme.member).body["credits"] == before + 5


def test_a_key_made_before_keys_named_their_company_still_works(api, tenants, dynamodb_calls):
    acme, bravo = tenants
    key = ApiKey.get(_key_id(acme.member))
    old = new_key(key.id)
    key.update(actions=[ApiKey.secret_hash.set(old.secret_hash)])
    old_member = Member(user=acme.member.user, api_key=old.token)
    assert api.get("/company", old_member).body["id"] == acme.id
    dynamodb_calls.clear()
    assert api.get("/company", old_member).body["id"] == acme.id
    assert [op for op, _ in dynamodb_calls] == ["GetItem", "UpdateItem", "GetItem"]
    assert api.get(f"/users/{bravo.member.user.id}", old_member).status == 404
    assert api.delete(f"/api-keys/{key.id}", acme.member).status == 401  # the new token is gone
    assert api.delete(f"/api-keys/{key.id}", old_member).status == 204
    assert api.get("/company", old_member).status == 401


def _with_names(token: str, names: str) -> str:
    """`token` with the company it names replaced by `names` (its random part kept)."""
    prefix, key_id, secret = parse_token(token, (KEY_PREFIX, TEST_KEY_PREFIX))
    return f"{prefix}_{key_id}_{names}{secret.split('.', 1)[1]}"


def test_a_key_token_that_names_another_company_is_refused_like_a_bad_key(api, tenants):
    acme, bravo = tenants
    wrong_secret = api.get("/company", Member(acme.member.user, _with_names(acme.member.api_key, "x")))
    assert wrong_secret.status == 401
    for names in (key_names(bravo.id), key_names(-acme.id), key_names(acme.id + 10**6), ""):
        forged = Member(acme.member.user, _with_names(acme.member.api_key, names))
        refused = api.get("/company", forged)
        assert (refused.status, refused.body) == (401, wrong_secret.body)
    assert api.get("/company", acme.member).body["id"] == acme.id


def test_a_key_whose_token_names_a_company_not_its_own_is_refused(api, tenants):
    acme, bravo = tenants
    key = ApiKey.get(_key_id(acme.member))
    misnamed = new_key(key.id, KEY_PREFIX, key_names(bravo.id))  # a well-hashed token naming bravo
    key.update(actions=[ApiKey.secret_hash.set(misnamed.secret_hash)])
    refused = api.get("/company", Member(acme.member.user, misnamed.token))
    assert refused.status == 401 and refused.error_code == "invalid_api_key"


def test_a_role_change_reaches_every_key_of_the_user_on_its_next_call(api, tenants):
    acme, _ = tenants
    test_key = _second_key(api, acme.member, "test")
    assert api.get("/users", acme.member).status == 403
    assert api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "admin"}).status == 200
    assert api.get("/users", acme.member).status == 200
    assert api.get("/users", test_key).status == 200
    assert api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "approver"}).status == 200
    assert api.get("/users", acme.member).status == 403
    assert api.get("/users", test_key).status == 403
    assert {ApiKey.get(_key_id(m)).role for m in (acme.member, test_key)} == {"approver"}


def test_deleting_a_user_ends_all_its_keys_at_once_each_audited(api, tenants):
    acme, _ = tenants
    second = _second_key(api, acme.member)
    assert api.delete(f"/users/{acme.member.user.id}", acme.admin).status == 204
    assert api.get("/company", acme.member).status == 401
    assert api.get("/company", second).status == 401
    revoked = {e.object_id for e in AuditEntry.query(acme.id) if e.action == "api_key.revoked"}
    assert {str(_key_id(acme.member)), str(_key_id(second))} <= {str(i) for i in revoked}


def test_a_revoked_key_is_refused_on_its_next_call(api, tenants):
    acme, _ = tenants
    second = _second_key(api, acme.member)
    assert api.get("/company", second).status == 200
    assert api.delete(f"/api-keys/{_key_id(second)}", acme.member).status == 204
    assert api.get("/company", second).status == 401
    assert api.get("/company", acme.member).status == 200


def test_a_key_made_before_keys_carried_roles_reads_its_user_once(api, tenants, dynamodb_calls):
    acme, _ = tenants
    key = ApiKey.get(_key_id(acme.approver))
    key.update(actions=[ApiKey.role.remove()])
    assert (
        api.post(f"/users/{acme.member.user.id}/invite", acme.approver).status == 403
    )  # approver, not admin
    assert ApiKey.get(key.id).role == "approver"
    dynamodb_calls.clear()
    assert api.get("/contact-lists", acme.approver).status == 200
    assert ("GetItem", User.Meta.table_name) not in dynamodb_calls


def test_a_key_made_before_keys_carried_roles_follows_a_role_change(api, tenants):
    acme, _ = tenants
    ApiKey.get(_key_id(acme.member)).update(actions=[ApiKey.role.remove()])
    assert api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "admin"}).status == 200
    assert ApiKey.get(_key_id(acme.member)).role == "admin"
    assert api.get("/users", acme.member).status == 200


def test_a_key_of_a_deleted_user_made_before_keys_carried_roles_is_refused(api, tenants):
    acme, _ = tenants
    key = ApiKey.get(_key_id(acme.member))
    key.update(actions=[ApiKey.role.remove()])
    User.get(acme.id, acme.member.user.id).delete()  # as a deletion that left its keys behind would
    assert api.get("/company", acme.member).status == 401
    assert ApiKey.get(key.id).role is None


def test_a_key_issued_while_its_user_changes_is_a_409_and_not_made(api, tenants, monkeypatch):
    acme, _ = tenants
    stale = User.get(acme.id, acme.member.user.id)
    assert api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "admin"}).status == 200
    monkeypatch.setattr(api_keys, "get_user", lambda caller, user_id: stale)
    before = {k.id for k in ApiKey.by_company.query(acme.id)}
    answer = api.post("/api-keys", acme.admin, {"user": acme.member.user.id})
    assert answer.status == 409 and answer.error_code == "concurrent_change", answer.body
    assert {k.id for k in ApiKey.by_company.query(acme.id)} == before


def test_a_user_has_at_most_its_bound_of_keys(api, tenants):
    acme, bravo = tenants
    for _ in range(MAX_KEYS_PER_USER - 1):
        _second_key(api, acme.member)
    refused = api.post("/api-keys", acme.member, {})
    assert refused.status == 409 and refused.error_code == "too_many_keys", refused.body
    assert str(MAX_KEYS_PER_USER) in refused.body["error"]["message"]
    assert api.post("/api-keys", bravo.member, {}).status == 201  # another company's user is not counted
    assert api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "approver"}).status == 200
    assert api.get("/company", acme.member).status == 200


def test_another_companys_user_cannot_be_changed_and_its_keys_keep_their_role(api, tenants):
    acme, bravo = tenants
    assert api.patch(f"/users/{bravo.member.user.id}", acme.admin, {"role": "admin"}).status == 404
    assert api.delete(f"/users/{bravo.member.user.id}", acme.admin).status == 404
    assert ApiKey.get(_key_id(bravo.member)).role == "member"
    assert api.get("/company", bravo.member).status == 200


def test_a_session_in_test_mode_opens_the_test_tenant_once(api, tenants, dynamodb_calls):
    from chalicelib.domain.accounts.sessions import start_session

    acme, _ = tenants
    session = start_session(acme.member.user)
    headers = {"Authorization": f"Bearer {session.token}", "Colony-Mode": "test"}
    assert api.call("GET", "/contact-lists", None, headers=headers).status == 200
    assert Session.get(session.session.id).test_tenant_open is True
    dynamodb_calls.clear()
    answer = api.call("GET", "/contact-lists", None, headers=headers)
    assert answer.status == 200 and answer.body["results"] == []
    reads = [op for op, _ in dynamodb_calls if op in ("GetItem", "BatchGetItem")]
    assert reads == ["BatchGetItem"]  # the session and its user, together
    dynamodb_calls.clear()
    assert api.call("GET", "/company", None, headers=headers).body["id"] == -acme.id
    assert [op for op, _ in dynamodb_calls] == [
        "BatchGetItem",
        "UpdateItem",
    ]  # the test tenant read with them


def test_a_sessions_call_reads_the_session_its_user_and_its_company_in_one_request(
    api, tenants, dynamodb_calls
):
    from chalicelib.domain.accounts.sessions import start_session

    acme, _ = tenants
    token = start_session(acme.member.user).token
    dynamodb_calls.clear()
    answer = api.call("GET", "/company", None, headers=_bearer(token))
    assert answer.status == 200 and answer.body["id"] == acme.id
    assert [op for op, _ in dynamodb_calls] == ["BatchGetItem", "UpdateItem"]  # and the request limit's
    Company(id=acme.id).update(actions=[Company.credits.add(5)])
    assert (
        api.call("GET", "/company", None, headers=_bearer(token)).body["credits"]
        == answer.body["credits"] + 5
    )


def test_a_session_token_naming_another_company_reads_none_of_it(api, tenants):
    from chalicelib.domain.accounts.sessions import start_session

    acme, bravo = tenants
    token = start_session(acme.member.user).token
    prefix, session_id, secret = token.split("_", 2)
    _, user, random_part = secret.split(".", 2)
    forged = f"{prefix}_{session_id}_{bravo.id}.{user}.{random_part}"
    answer = api.call("GET", "/company", None, headers=_bearer(forged))
    assert answer.status == 401 and str(bravo.id) not in str(answer.body)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_sessions_role_change_and_password_change_take_effect_on_its_next_call(api, tenants):
    from chalicelib.domain.accounts import passwords
    from chalicelib.domain.accounts.sessions import start_session

    acme, _ = tenants
    token = start_session(acme.member.user).token
    assert api.call("GET", "/users", None, headers=_bearer(token)).status == 403
    assert api.patch(f"/users/{acme.member.user.id}", acme.admin, {"role": "admin"}).status == 200
    assert api.call("GET", "/users", None, headers=_bearer(token)).status == 200
    assert passwords.set_password(User.get(acme.id, acme.member.user.id), "a-new-long-password-1")
    ended = api.call("GET", "/company", None, headers=_bearer(token))
    assert ended.status == 401 and ended.error_code == "session_expired"


def test_a_session_token_that_names_another_user_is_refused(api, tenants):
    from chalicelib.domain.accounts.sessions import start_session

    acme, bravo = tenants
    token = start_session(acme.member.user).token
    prefix, session_id, secret = parse_token(token, ("cs",))
    random_part = secret.split(".", 2)[2]
    for names in (f"{bravo.id}.{bravo.admin.user.id}.", f"{acme.id}.{acme.admin.user.id}.", ""):
        forged = f"{prefix}_{session_id}_{names}{random_part}"
        assert api.call("GET", "/company", None, headers=_bearer(forged)).status == 401
    assert api.call("GET", "/company", None, headers=_bearer(token)).body["id"] == acme.id


def test_a_session_made_before_tokens_named_their_user_still_works(api, tenants, dynamodb_calls):
    from chalicelib.domain.accounts.auth import SESSION_PREFIX, new_key
    from chalicelib.domain.accounts.sessions import start_session

    acme, bravo = tenants
    session = start_session(acme.member.user).session
    issued = new_key(session.id, SESSION_PREFIX)
    session.update(actions=[Session.secret_hash.set(issued.secret_hash)])
    dynamodb_calls.clear()
    assert api.call("GET", "/company", None, headers=_bearer(issued.token)).body["id"] == acme.id
    assert ("GetItem", User.Meta.table_name) in dynamodb_calls
    assert (
        api.call("GET", f"/users/{bravo.member.user.id}", None, headers=_bearer(issued.token)).status == 404
    )
