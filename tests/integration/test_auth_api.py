"""Every route but /health, the API's description, the provider webhooks and the unsubscribe link needs
a key; the key's company scopes everything."""

import re

import pytest

from app import app


def _routes():
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            yield path, method, entry


def test_every_route_is_declared_through_endpoint():
    for path, method, entry in _routes():
        assert hasattr(entry.view_function, "colony_endpoint"), f"{method} {path} bypasses endpoint()"


def test_only_health_the_docs_the_app_the_webhooks_the_unsubscribe_link_and_signing_in_are_public():
    public = {(m, p) for p, m, e in _routes() if e.view_function.colony_endpoint["public"]}
    assert public == {
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/swagger-ui-bundle.js"),
        ("GET", "/docs/swagger-ui.css"),
        ("POST", "/webhooks/inbound/{token}"),
        ("POST", "/webhooks/status/{token}"),
        ("GET", "/unsubscribe/{token}"),
        ("POST", "/unsubscribe/{token}"),
        ("POST", "/sessions"),
        ("POST", "/password-resets"),
        ("POST", "/passwords"),
        ("GET", "/app"),
        ("GET", "/app/{asset}"),
    }


def test_every_private_route_answers_401_without_a_key(api):
    for path, method, entry in _routes():
        if entry.view_function.colony_endpoint["public"]:
            continue
        answer = api.call(method, re.sub(r"\{[^}]+\}", "1", path), json_body={})
        assert answer.status == 401, f"{method} {path}"
        assert answer.error_code == "missing_api_key"
        assert answer.headers.get("WWW-Authenticate") == "Token"


def test_health_is_open(api):
    assert api.get("/health").body == {"status": "ok"}


def test_token_and_bearer_both_work(api, tenants):
    acme, _ = tenants
    for scheme in ("Token", "Bearer"):
        answer = api.get("/company", headers={"Authorization": f"{scheme} {acme.member.api_key}"})
        assert answer.status == 200
        assert answer.body["id"] == acme.id


@pytest.mark.parametrize(
    "header",
    ["Token ck_1_wrong-secret", "Token ck_999999_whatever", "Token not-a-key", "Digest abc"],
)
def test_bad_keys_are_401(api, tenants, header):
    answer = api.get("/company", headers={"Authorization": header})
    assert answer.status == 401
    assert answer.error_code == "invalid_api_key"


def test_a_right_key_id_with_another_keys_secret_is_refused(api, tenants):
    acme, bravo = tenants
    acme_id = acme.admin.api_key.split("_")[1]
    bravo_secret = bravo.admin.api_key.split("_", 2)[2]
    answer = api.get("/company", headers={"Authorization": f"Token ck_{acme_id}_{bravo_secret}"})
    assert answer.status == 401
