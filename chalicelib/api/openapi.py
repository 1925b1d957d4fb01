"""The OpenAPI 3.1 document, generated and never written by hand: from the routes' declarations
(`operations.OPERATIONS`), their request schemas, the TypedDicts their views return (described by
pydantic) and the error body of `api/errors.py`."""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from typing import Any

from chalice import Response
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from chalicelib.api.error_codes import codes_by_status
from chalicelib.api.errors import ErrorBody
from chalicelib.api.http import JSON
from chalicelib.api.operations import HTML, OPERATIONS, Operation
from chalicelib.api.request_schemas import request_body
from chalicelib.domain.stats.reading import PERIOD_NAMES

API_VERSION = "1"
REF = "#/components/schemas/{model}"
ERROR_NAMES = {
    400: "The request is wrong: the `fields` say which field and why.",
    401: "No API key or session, or one that is not valid (send `Authorization: Token <key>`).",
    402: "The company's credits, or what its daily credit limit leaves today, do not cover it.",
    403: "The caller's role may not do this, or its API key is not allowed from this address.",
    404: "There is no such object in the caller's company.",
    409: "The object is not in a state that allows this, or was changed meanwhile.",
    413: "The body or the file is too large.",
    415: "The body is not of a type this route takes.",
    422: "The Idempotency-Key was used before for a different request.",
    429: "Too many attempts, or too many requests by the company: wait the seconds `Retry-After` says "
    "(or the time the message says).",
    503: "Too many writes to the same records at once; the same request later will succeed.",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the first request with a key is done and its answer kept for 24 "
    "hours; a repeat of the same request gets that answer (with `Idempotent-Replayed: true`) and does "
    "nothing; the key with another request is a 422; while the first still runs, a 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}
REPLAYED_HEADER = {
    "description": "`true` when this is the kept answer to an earlier request with the same "
    "Idempotency-Key (nothing was done again); absent otherwise.",
    "schema": {"type": "string", "enum": ["true"]},
}
RETRY_AFTER_HEADER = {
    "description": "The seconds to wait before the same request can succeed (for the request limit, "
    "to the end of its window).",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
TEST_FIELD = {
    "type": "boolean",
    "description": "Whether this is test data (made with a test key, or a session in test mode); every "
    "object a route answers with, alone or in a page, carries it.",
}
_PATH_PARAM = re.compile(r"{(\w+)}")
DESCRIPTION = (
    "Authenticate with `Authorization: Token <api-key>`, or a person's session from `POST /sessions` as "
    "`Authorization: Bearer <token>`; every object belongs to the key's company, and "
    "another company's is a 404. A test key (`ck_test_…`), or a session with the header "
    "`Colony-Mode: test`, acts in the company's test data, where nothing is sent or charged. "
    "Writes take JSON, or the same fields as a URL-encoded or multipart form. "
    "Lists page with `cursor` and `page_size`. Every route also takes DRF's `?format=json`; any query "
    "parameter a route does not list is a 400 naming it. Errors are one shape: "
    '`{"error": {"code", "message", "fields"}}`.'
)


class _Strict(GenerateJsonSchema):
    """A response object lists every field it has, so a field added without the document is caught; a
    page of them is named for what it holds (`Page[ContactListBody]` is `ContactListPage`)."""

    def typed_dict_schema(self, schema: Any) -> Any:
        described = super().typed_dict_schema(schema)
        described.setdefault("additionalProperties", False)
        if "id" in described.get("properties", {}):
            described["properties"]["test"] = TEST_FIELD
        return described

    def normalize_name(self, name: str) -> str:
        held = re.fullmatch(r"Page\[(\w+?)(Body)?\]", name)
        return f"{held.group(1)}Page" if held else super().normalize_name(name)


@cache
def document() -> dict[str, Any]:
    """The whole document, built once per process."""
    shapes: dict[tuple[str, int], Any] = {}
    operations = []
    for operation in OPERATIONS:
        successes = _successes(operation)
        for method in operation.methods:
            key = _operation_id(operation, method)
            for status, shape in successes.items():
                if shape is not None and _media_types(shape) is None:
                    shapes[(key, status)] = shape
            operations.append((operation, method, key, successes))
    shapes[("error", 0)] = ErrorBody
    inputs = [(key, "serialization", TypeAdapter(shape)) for key, shape in shapes.items()]
    schemas, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF, schema_generator=_Strict)
    described = {key: schema for (key, _), schema in schemas.items()}
    paths: dict[str, dict[str, Any]] = {}
    links = _links(operations)
    for operation, method, key, successes in operations:
        responses = {
            str(status): _success(shape, described.get((key, status), {}), status)
            for status, shape in successes.items()
        }
        for status, followed in links.get(key, {}).items():
            responses[str(status)]["links"] = followed
        if operation.idempotent:
            for status in successes:
                responses[str(status)]["headers"] = {"Idempotent-Replayed": REPLAYED_HEADER}
        for status in _error_statuses(operation, method):
            responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
        paths.setdefault(operation.path, {})[method.lower()] = _operation(operation, method, key, responses)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Colony",
            "version": API_VERSION,
            "summary": "Contact lists, CSV imports, SMS and email deployments, opt-outs, credits, stats.",
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": ".", "description": "This API, where the document was read"}],
        "security": [{"Token": []}],
        "tags": sorted(({"name": tag} for tag in {_tag(o) for o in OPERATIONS}), key=lambda t: t["name"]),
        "paths": paths,
        "components": {
            "schemas": {name: {**schema, "title": name} for name, schema in definitions["$defs"].items()},
            "responses": _error_responses(),
            "securitySchemes": {
                "Token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The word `Token`, a space and the API key: `Token ck_1_3f0c…` "
                    "(`Bearer ck_1_3f0c…` is taken too).",
                }
            },
        },
    }


def _successes(operation: Operation) -> dict[int, Any]:
    """Status → shape of every success answer: the view's return type, and what the route declares."""
    returned = typing.get_type_hints(operation.view).get("return")
    parts = typing.get_args(returned) if _is_union(returned) else (returned,)
    found: dict[int, Any] = {}
    if type(None) in parts:
        found[204] = None
    shapes = [part for part in parts if part not in (Response, type(None))]
    if shapes:
        (found[operation.status],) = shapes
    found.update(operation.responses)
    return found


def _links(operations: list[tuple[Operation, str, str, dict[int, Any]]]) -> dict[str, dict[int, Any]]:
    """From every answer that is an object (its `id`) to what can be done with it: the operations under
    the path that reads it (`GET /contact-lists/{list_id}` → `…/{list_id}/contacts`), so a client, or
    a fuzzer's stateful phase, can follow on from what it made."""
    readers = {
        successes.get(200): operation.path
        for operation, method, _, successes in operations
        if method == "GET"
        and len(_PATH_PARAM.findall(operation.path)) == 1
        and operation.path.endswith("_id}")
    }
    found: dict[str, dict[int, Any]] = {}
    for _, _, key, successes in operations:
        for status, shape in successes.items():
            reader = readers.get(shape) if _media_types(shape) is None else None
            if reader is None:
                continue
            (param,) = _PATH_PARAM.findall(reader)
            found.setdefault(key, {})[status] = {
                target: {"operationId": target, "parameters": {param: "$response.body#/id"}}
                for operation, _, target, _ in operations
                if operation.path.startswith(reader)
                and len(_PATH_PARAM.findall(operation.path)) == 1
                and target != key
            }
    return found


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _success(shape: Any, schema: dict[str, Any], status: int) -> dict[str, Any]:
    if shape is None:
        return {"description": "Moved: follow `Location`." if 300 <= status < 400 else "Done; no body."}
    media_types = _media_types(shape)
    if media_types is not None:
        text = "A page for people." if HTML in media_types else "The file."
        return {
            "description": text,
            "content": {name: {"schema": {"type": "string"}} for name in media_types},
        }
    description = "Accepted; the work goes on in the background." if status == 202 else "Done."
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _media_types(shape: Any) -> tuple[str, ...] | None:
    """A response declared as a media type (or a tuple of them) is a file or a page, not JSON."""
    if isinstance(shape, str):
        return (shape,)
    if isinstance(shape, tuple) and shape and all(isinstance(name, str) for name in shape):
        return shape
    return None


def _operation_id(operation: Operation, method: str) -> str:
    name = operation.view.__name__
    return name if len(operation.methods) == 1 else f"{name}_{method.lower()}"


def _tag(operation: Operation) -> str:
    return operation.view.__module__.rsplit(".", 1)[-1].replace("_", " ")


def _operation(operation: Operation, method: str, key: str, responses: dict[str, Any]) -> dict[str, Any]:
    doc = _one_line(operation.view.__doc__ or "")
    summary = re.split(r"(?<=[a-z)`])[.;:] ", doc, maxsplit=1)[0].rstrip(".")
    if not summary:
        summary = operation.view.__name__.replace("_", " ").capitalize()
        summary += f" ({method})" if len(operation.methods) > 1 else ""
    described: dict[str, Any] = {
        "operationId": key,
        "tags": [_tag(operation)],
        "summary": summary,
        "parameters": _parameters(operation),
        "responses": responses,
    }
    if doc and doc.rstrip(".") != summary:
        described["description"] = doc
    if operation.public:
        described["security"] = []
    body = request_body(operation, method)
    if body is not None:
        described["requestBody"] = body
    return described


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    found = [_path_parameter(name) for name in _PATH_PARAM.findall(operation.path)]
    for param in operation.query:
        schema: dict[str, Any] = {"type": {str: "string", int: "integer", bool: "boolean"}[param.kind]}
        if param.enum:
            schema["enum"] = list(param.enum)
        found.append({"name": param.name, "in": "query", "description": param.description, "schema": schema})
    if operation.idempotent:
        found.append(IDEMPOTENCY_KEY)
    return found


def _path_parameter(name: str) -> dict[str, Any]:
    if name == "period":
        schema: dict[str, Any] = {"type": "string", "enum": list(PERIOD_NAMES)}
    elif name == "token":
        schema = {"type": "string"}
    else:
        schema = {"type": "integer", "minimum": 1}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _error_statuses(operation: Operation, method: str) -> list[int]:
    """Those any route of its kind can give, and those it declares."""
    writes = method in ("POST", "PUT", "PATCH", "DELETE")
    statuses = {415} if operation.public else {400, 401, 403, 415, 429}  # Chalice checks every Content-Type
    if (
        "{" in operation.path
        or (writes and not operation.public)
        or any(p.kind is int for p in operation.query)
    ):
        statuses.add(404)
    if writes:
        statuses |= {409, 503}
    if operation.body is not None or writes:
        statuses |= {400, 413}
    if operation.idempotent:
        statuses.add(422)
    return sorted(statuses | set(operation.errors))


def _error_responses() -> dict[str, Any]:
    codes = codes_by_status()
    responses: dict[str, Any] = {
        f"E{status}": {
            "description": f"{text} Codes: {', '.join(f'`{c}`' for c in sorted(codes.get(status, ())))}.",
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
        for status, text in ERROR_NAMES.items()
    }
    responses["E429"]["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
    return responses
