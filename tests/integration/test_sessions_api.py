"""People sign in: invites, passwords (Argon2id), sessions as bearer tokens, the lockout, resets."""

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from chalicelib import cli
from chalicelib.models.sessions import Session
from chalicelib.models.users import User

GOOD = "correct horse battery staple"


@dataclass
class Person:
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def _token_of(url: str) -> str:
    return url.rpartition("/")[2]


def _invited(api, tenant, email, role="member"):
    made = api.post("/users", tenant.admin, {"email": email, "role": role})
    assert made.status == 201, made.body
    return made.body


def _with_password(api, tenant, email, role="member", password=GOOD):
    made = _invited(api, tenant, email, role)
    chosen = api.post("/passwords", None, {"token": _token_of(made["invite_url"]), "password": password})
    assert chosen.status == 201, chosen.body
    return made, Person(chosen.body["token"])


def _sign_in(api, email, password=GOOD, **more):
    return api.post("/sessions", None, {"email": email, "password": password, **more})


def test_an_invite_is_emailed_used_once_and_signs_the_person_in(api, tenants, mail_gateway):
    acme, _ = tenants
    made = _invited(api, acme, "nomsa@acme.example")
    assert made["invite_url"].startswith("http://127.0.0.1:8000/app/#/password/cl_")
    assert made["invite_expires"] == "2026-11-29T08:00:00Z"  # 72 hours after the pinned 08:00 UTC
    (email,) = mail_gateway.sent
    assert email.to == "nomsa@acme.example" and made["invite_url"] in email.text and not email.marketing
    token = _token_of(made["invite_url"])

    weak = api.post("/passwords", None, {"token": token, "password": "password1234"})
    assert weak.status == 400 and "password" in weak.body["error"]["fields"]
    short = api.post("/passwords", None, {"token": token, "password": "short"})
    assert short.body["error"]["fields"]["password"] == ["must be at least 12 characters"]

    chosen = api.post("/passwords", None, {"token": token, "password": GOOD})
    assert chosen.status == 201
    assert chosen.body["user"]["email"] == "nomsa@acme.example" and chosen.body["idle_timeout"] == 43200
    assert chosen.body["expires"] == "2026-12-03T08:00:00Z"
    me = api.get("/sessions/current", Person(chosen.body["token"]))
    assert me.status == 200 and me.body["user"]["id"] == made["id"] and "token" not in me.body
    again = api.post("/passwords", None, {"token": token, "password": "another long passphrase"})
    assert again.status == 400 and "token" in again.body["error"]["fields"]


def test_a_session_acts_with_its_users_role_and_company_only(api, tenants):
    acme, bravo = tenants
    _, person = _with_password(api, acme, "thabo@acme.example")
    listed = api.post("/contact-lists", person, {"title": "Walk-ins"})
    assert listed.status == 201
    bravo_list = api.post("/contact-lists", bravo.admin, {"title": "Bravo's"}).body["id"]
    assert api.get(f"/contact-lists/{bravo_list}", person).status == 404
    assert api.get("/users", person).status == 403  # a member is not an admin


def test_wrong_and_unknown_emails_answer_alike_and_five_failures_lock_for_15_minutes(api, tenants, at_time):
    acme, _ = tenants
    _with_password(api, acme, "lerato@acme.example")
    wrong = _sign_in(api, "lerato@acme.example", "not the password at all")
    unknown = _sign_in(api, "nobody@acme.example", "not the password at all")
    assert wrong.status == unknown.status == 401 and wrong.body == unknown.body
    for _ in range(4):
        assert _sign_in(api, "lerato@acme.example", "still the wrong one!!").status == 401
        assert _sign_in(api, "nobody@acme.example", "still the wrong one!!").status == 401
    locked = _sign_in(api, "lerato@acme.example")  # the right password, but too late
    assert locked.status == 429 and locked.error_code == "sign_in_locked"
    assert _sign_in(api, "nobody@acme.example").body == locked.body  # no hint that one exists
    at_time("2026-11-26T10:14:59+02:00")
    assert _sign_in(api, "lerato@acme.example").status == 429
    at_time("2026-11-26T10:15:00+02:00")
    assert _sign_in(api, "Lerato@ACME.example").status == 201


def test_failures_outside_15_minutes_do_not_add_up(api, tenants, at_time):
    acme, _ = tenants
    _with_password(api, acme, "sipho@acme.example")
    for _ in range(4):
        _sign_in(api, "sipho@acme.example", "wrong wrong wrong")
    at_time("2026-11-26T10:16:00+02:00")
    for _ in range(4):
        assert _sign_in(api, "sipho@acme.example", "wrong wrong wrong").status == 401
    assert _sign_in(api, "sipho@acme.example").status == 201


def test_a_session_ends_after_12_idle_hours_or_7_days(api, tenants, at_time):
    acme, _ = tenants
    _, person = _with_password(api, acme, "zanele@acme.example")
    at_time("2026-11-26T21:59:00+02:00")
    assert api.get("/sessions/current", person).status == 200  # 11h59 idle; this touches it
    at_time("2026-11-27T09:58:00+02:00")
    assert api.get("/sessions/current", person).status == 200
    at_time("2026-11-27T21:58:00+02:00")
    ended = api.get("/sessions/current", person)
    assert ended.status == 401 and ended.error_code == "session_expired"

    fresh = Person(_sign_in(api, "zanele@acme.example").body["token"])
    began = datetime.fromisoformat("2026-11-27T21:58:00+02:00")
    for hours in range(11, 7 * 24, 11):  # in use every 11 hours, it still ends 7 days after it began
        at_time((began + timedelta(hours=hours)).isoformat())
        assert api.get("/sessions/current", fresh).status == 200, hours
    at_time((began + timedelta(days=7)).isoformat())
    assert api.get("/sessions/current", fresh).status == 401


def test_signing_out_ends_that_session_only(api, tenants):
    acme, _ = tenants
    _, first = _with_password(api, acme, "ayanda@acme.example")
    second = Person(_sign_in(api, "ayanda@acme.example").body["token"])
    assert api.delete("/sessions/current", first).status == 204
    assert api.get("/sessions/current", first).status == 401
    assert api.get("/sessions/current", second).status == 200
    assert api.get("/sessions/current", acme.member).status == 404  # an API key has no session
    assert api.delete("/sessions/current", acme.member).status == 404


def test_a_password_change_ends_every_session_and_answers_with_a_new_one(api, tenants):
    acme, _ = tenants
    made, first = _with_password(api, acme, "kagiso@acme.example")
    second = Person(_sign_in(api, "kagiso@acme.example").body["token"])
    path = f"/users/{made['id']}/password"
    wrong = api.put(path, first, {"current_password": "not it, not it", "password": "a brand new passphrase"})
    assert wrong.status == 400 and "current_password" in wrong.body["error"]["fields"]
    changed = api.put(path, first, {"current_password": GOOD, "password": "a brand new passphrase"})
    assert changed.status == 200
    assert api.get("/sessions/current", first).status == 401
    assert api.get("/sessions/current", second).status == 401
    assert api.get("/sessions/current", Person(changed.body["token"])).status == 200
    assert _sign_in(api, "kagiso@acme.example").status == 401
    assert _sign_in(api, "kagiso@acme.example", "a brand new passphrase").status == 201
    body = {"current_password": GOOD, "password": "a brand new passphrase"}
    assert api.put(f"/users/{acme.member.user.id}/password", first, body).status == 401
    assert api.put(f"/users/{acme.member.user.id}/password", acme.admin, body).status == 403


def test_another_companys_user_is_404_for_password_and_invite(api, tenants):
    acme, bravo = tenants
    body = {"current_password": GOOD, "password": "a brand new passphrase"}
    assert api.put(f"/users/{bravo.member.user.id}/password", acme.admin, body).status == 404
    assert api.post(f"/users/{bravo.member.user.id}/invite", acme.admin).status == 404
    assert api.post(f"/users/{acme.member.user.id}/invite", acme.member).status == 403


def test_deleting_a_user_ends_their_sessions(api, tenants):
    acme, _ = tenants
    made, person = _with_password(api, acme, "bongani@acme.example")
    assert api.delete(f"/users/{made['id']}", acme.admin).status == 204
    assert api.get("/sessions/current", person).status == 401


def test_a_reset_says_the_same_for_any_address_and_its_link_sets_a_new_password(
    api, tenants, mail_gateway, at_time
):
    acme, _ = tenants
    _, old_session = _with_password(api, acme, "precious@acme.example")
    mail_gateway.reset()
    known = api.post("/password-resets", None, {"email": "precious@acme.example"})
    unknown = api.post("/password-resets", None, {"email": "ghost@acme.example"})
    assert known.status == unknown.status == 202 and known.body == unknown.body
    (email,) = mail_gateway.sent
    assert email.to == "precious@acme.example" and email.subject == "Reset your Colony password"
    link = next(word for word in email.text.split() if "/app/#/password/" in word)
    at_time("2026-11-26T11:00:00+02:00")  # an hour later the link has expired
    late = api.post("/passwords", None, {"token": _token_of(link), "password": "a new long passphrase"})
    assert late.status == 400
    api.post("/password-resets", None, {"email": "precious@acme.example"})
    link = next(word for word in mail_gateway.sent[-1].text.split() if "/app/#/password/" in word)
    reset = api.post("/passwords", None, {"token": _token_of(link), "password": "a new long passphrase"})
    assert reset.status == 201
    assert api.get("/sessions/current", old_session).status == 401
    assert _sign_in(api, "precious@acme.example", "a new long passphrase").status == 201


def test_a_password_voids_links_issued_before_it(api, tenants):
    acme, _ = tenants
    made = _invited(api, acme, "mpho@acme.example")
    second = api.post(f"/users/{made['id']}/invite", acme.admin)
    assert second.status == 201
    used = api.post("/passwords", None, {"token": _token_of(second.body["invite_url"]), "password": GOOD})
    assert used.status == 201
    first = api.post("/passwords", None, {"token": _token_of(made["invite_url"]), "password": GOOD})
    assert first.status == 400


def test_bad_tokens_are_refused_without_a_500(api, tenants):
    for token in ("", "cl_", "cl_1_", "cl_999999_nope", "ck_1_x", "x" * 200):
        answer = api.post("/passwords", None, {"token": token, "password": GOOD})
        assert answer.status == 400, token
    for header in ("Bearer cs_1_nope", "Bearer cs_99999999_x", "Bearer cl_1_x"):
        assert api.get("/sessions/current", None, headers={"Authorization": header}).status == 401


def test_one_person_in_two_companies_names_the_company(api, tenants):
    acme, bravo = tenants
    _with_password(api, acme, "consultant@example.com")
    _with_password(api, bravo, "consultant@example.com")
    both = _sign_in(api, "consultant@example.com")
    assert both.status == 400 and both.error_code == "company_required"
    chosen = _sign_in(api, "consultant@example.com", company=bravo.id)
    assert chosen.status == 201 and chosen.body["user"]["company"] == bravo.id


def test_only_hashes_are_stored(api, tenants):
    acme, _ = tenants
    _, person = _with_password(api, acme, "hashes@acme.example")
    user = next(User.by_email.query("hashes@acme.example"))
    assert user.password_hash.startswith("$argon2id$") and GOOD not in user.password_hash
    secret = person.token.split("_", 2)[2]
    assert all(secret not in json.dumps(s.attribute_values) for s in Session.scan())


def test_the_cli_prints_an_invite_or_sets_a_password_from_stdin(api, aws, capsys, monkeypatch):
    assert (
        cli.main(["--stage", "test", "company", "create", "--name", "Delta", "--email", "d@delta.example"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert "/app/#/password/cl_" in printed["invite_url"] and "password" not in printed

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    args = ["--stage", "test", "company", "create", "--name", "Echo", "--email", "e@echo.example"]
    assert cli.main([*args, "--password-stdin"]) == 1
    assert "at least 12" in capsys.readouterr().err
    assert not list(User.by_email.query("e@echo.example"))  # nothing was written

    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD + "\n"))
    assert cli.main([*args, "--password-stdin"]) == 0
    assert json.loads(capsys.readouterr().out)["password"] == "set"
    assert _sign_in(api, "e@echo.example").status == 201


@pytest.mark.parametrize("body", [{}, {"email": "a@b.example"}, {"email": 5, "password": GOOD}])
def test_sign_in_input_is_checked_by_field(api, body):
    answer = api.post("/sessions", None, body)
    assert answer.status == 400 and answer.body["error"]["fields"]
