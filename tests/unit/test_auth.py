import pytest

from chalicelib.domain.accounts.auth import (
    Caller,
    hash_secret,
    key_names,
    named_company,
    named_user,
    new_key,
    parse_authorization,
    session_names,
)
from chalicelib.domain.errors import Forbidden, Unauthenticated


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Token ck_12_secret", ("ck", 12, "secret")),
        ("Bearer ck_12_secret", ("ck", 12, "secret")),
        ("token ck_7_a_b-c", ("ck", 7, "a_b-c")),
        ("  Token   ck_7_s  ", ("ck", 7, "s")),
        ("Bearer cs_9_s", ("cs", 9, "s")),
    ],
)
def test_authorization_accepts_token_and_bearer(header, expected):
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_api_key"),
        ("", "missing_api_key"),
        ("Basic dXNlcjpwYXNz", "invalid_api_key"),
        ("Token", "invalid_api_key"),
        ("Token ck_x_secret", "invalid_api_key"),
        ("Token ck_12_", "invalid_api_key"),
        ("Token xx_12_secret", "invalid_api_key"),
        ("Token ck_١٢_secret", "invalid_api_key"),
        ("ck_12_secret", "invalid_api_key"),
        ("Bearer cl_12_secret", "invalid_api_key"),
    ],
)
def test_authorization_rejects_anything_else(header, code):
    with pytest.raises(Unauthenticated) as raised:
        parse_authorization(header)
    assert raised.value.code == code


def test_new_key_is_shown_once_and_only_its_hash_is_kept():
    issued = new_key(42)
    _, key_id, secret = parse_authorization(f"Token {issued.token}")
    assert key_id == 42
    assert issued.secret_hash == hash_secret(secret)
    assert secret not in issued.secret_hash
    assert new_key(42).token != issued.token


def test_caller_require_names_the_missing_role():
    member = Caller(company=1, user=2, role="member")
    member.require("member", "admin")
    with pytest.raises(Forbidden, match="admin"):
        member.require("admin")
    assert Caller.operator(5) == Caller(company=5, user=None, role="admin")


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (session_names(12, 34) + "abc-_x", (12, 34)),
        ("abc-_x", None),  # a token made before tokens named their user
        ("12.x.abc", None),
        ("12.34.", None),
        ("-1.34.abc", None),
        ("١٢.34.abc", None),  # Arabic-Indic digits are digits to str.isdigit, not to Colony
        ("1" * 19 + ".34.abc", None),
    ],
)
def test_a_session_secret_names_its_company_and_user_or_nothing(secret, expected):
    assert named_user(secret) == expected


def test_a_session_key_hashes_the_names_with_its_secret():
    issued = new_key(5, "cs", session_names(3, 4))
    secret = issued.token.split("_", 2)[2]
    assert secret.startswith("3.4.") and len(secret) > len("3.4.") + 40
    assert issued.secret_hash == hash_secret(secret)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (key_names(12) + "abc-_x", 12),
        ("abc-_x", None),  # a key made before keys named their company
        ("12.", None),
        ("x.abc", None),
        ("-1.abc", None),
        ("١٢.abc", None),
        ("1" * 19 + ".abc", None),
    ],
)
def test_an_api_key_secret_names_its_company_or_nothing(secret, expected):
    assert named_company(secret) == expected


def test_an_api_key_hashes_its_company_with_its_secret():
    issued = new_key(5, "ck", key_names(3))
    secret = issued.token.split("_", 2)[2]
    assert secret.startswith("3.") and named_company(secret) == 3
    assert issued.secret_hash == hash_secret(secret)
