"""The conventions every route shares: one error format, no 500 for bad input, size limits."""

import io
import json
import logging

import pytest

from chalicelib.domain.accounts import companies


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{bad json", "invalid_json"),
        ("", "invalid_json"),
        ('{"name": NaN}', "invalid_json"),
        ("[" * 100_000 + "]" * 100_000, "invalid_json"),
        ("[1, 2]", "invalid_body"),
        ('"text"', "invalid_body"),
    ],
)
def test_malformed_bodies_are_400_in_the_error_format(api, tenants, raw, code):
    acme, _ = tenants
    answer = api.call("PATCH", "/company", acme.admin, raw=raw)
    assert answer.status == 400
    assert answer.error_code == code
    assert set(answer.body["error"]) == {"code", "message", "fields"}


def test_oversize_bodies_are_413(api, tenants, monkeypatch):
    acme, _ = tenants
    monkeypatch.setenv("COLONY_MAX_BODY_BYTES", "1000")
    answer = api.call("PATCH", "/company", acme.admin, raw=json.dumps({"name": "x" * 2000}))
    assert answer.status == 413
    assert answer.error_code == "body_too_large"


def test_wrong_content_type_is_415(api, tenants):
    acme, _ = tenants
    answer = api.call("PATCH", "/company", acme.admin, raw="name=x", headers={"Content-Type": "text/plain"})
    assert answer.status == 415
    assert answer.error_code == "unsupported_media_type"


def test_wrong_method_is_405_in_the_error_format(api, tenants):
    acme, _ = tenants
    answer = api.call("DELETE", "/company", acme.admin)
    assert answer.status == 405
    assert answer.error_code == "method_not_allowed"


def test_an_unexpected_failure_is_a_500_without_a_traceback(api, tenants, monkeypatch):
    acme, _ = tenants

    def broken(caller):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(companies, "get_company", broken)
    answer = api.get("/company", acme.admin)
    assert answer.status == 500
    assert answer.error_code == "internal_error"
    assert "secret internals" not in json.dumps(answer.body)
    assert "Traceback" not in json.dumps(answer.body)


def test_request_logs_carry_ids_but_never_the_key(api, tenants):
    from chalicelib.log import logger

    acme, _ = tenants
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logger.setLevel("INFO")
    try:
        api.patch("/company", acme.admin, {"optout_text": "Reply STOP to leave"})
    finally:
        logger.setLevel("WARNING")
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (request_line,) = [line for line in lines if line.get("message") == "request"]
    assert request_line["company"] == acme.id
    assert request_line["route"] == "PATCH /company"
    assert request_line["status"] == 200
    output = stream.getvalue()
    assert acme.admin.api_key.split("_", 2)[2] not in output
    assert "Reply STOP to leave" not in output
