"""Every answer the integration tests see is held to the OpenAPI document: its status is one the operation
lists, its media type one that status has, and a JSON body matches the schema (no field more or less)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = "urn:colony:openapi"


@cache
def document() -> dict[str, Any]:
    import app  # noqa: F401  (registers every route)
    from chalicelib.api.openapi import document as built

    return built()


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """Path templates as patterns, fixed paths first (as `/contact-lists/delete` beats `{list_id}`)."""
    found = [
        (re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$"), path)
        for path in document()["paths"]
    ]
    return sorted(found, key=lambda pair: pair[1].count("{"))


@cache
def _registry() -> Registry:
    return Registry().with_resource(BASE, Resource.from_contents(document(), DRAFT202012))


@cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{BASE}#{pointer}"}, registry=_registry())


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def check(method: str, path: str, status: int, headers: dict[str, str], text: str, parsed: Any) -> None:
    """Fail the test if this answer is not one the document describes."""
    path = path.split("?", 1)[0].rstrip("/") or "/"  # as Chalice matches `/docs/` to `/docs`
    template = next((t for pattern, t in _templates() if pattern.match(path)), None)
    operation = document()["paths"].get(template, {}).get(method.lower()) if template else None
    if operation is None or status == 500:  # Chalice's 404 or 405, or a failure: in the one error format
        assert operation is not None or status in (404, 405), f"{method} {path} is no operation: {status}"
        _validator("/components/schemas/ErrorBody").validate(parsed)
        return
    responses = operation["responses"]
    assert str(status) in responses, (
        f"{method} {template} answered {status}, which the document does not list"
    )
    answer = responses[str(status)]
    pointer = f"/paths/{_escape(template)}/{method.lower()}/responses/{status}"
    if "$ref" in answer:
        pointer = answer["$ref"][1:]
        answer = document()["components"]["responses"][pointer.rsplit("/", 1)[-1]]
    content = answer.get("content")
    if content is None:
        assert not text, f"{method} {template} {status} has no body in the document, yet sent {text[:80]!r}"
        return
    media_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "").split(";")[0].strip()
    assert media_type in content, f"{method} {template} {status} sent {media_type}, not {sorted(content)}"
    if media_type == "application/json":
        errors = sorted(
            _validator(f"{pointer}/content/{_escape(media_type)}/schema").iter_errors(parsed), key=str
        )
        problem = f"{errors[0].json_path}: {errors[0].message}" if errors else ""
        assert not errors, f"{method} {template} {status} does not match the document at {problem}"
