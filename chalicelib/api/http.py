"""The one way a route is declared: authentication, body parsing, errors and the request log line.

Every route goes through `endpoint`, so none can forget to authenticate (nor the company's request
limit, counted on every authenticated call); a test walks `app.routes` to prove it. Views receive a
`Call` and return the body to render (or a `Response`).
"""

from __future__ import annotations

import email.policy
import functools
import json
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api import idempotent_requests
from chalicelib.api.errors import error_response, internal_error_response
from chalicelib.api.operations import OPERATIONS, Operation, Param
from chalicelib.api.schema import Schema
from chalicelib.domain.accounts import request_limit
from chalicelib.domain.accounts.auth import Caller, authenticate
from chalicelib.domain.errors import (
    ColonyError,
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedMediaType,
    invalid_field,
)
from chalicelib.domain.idempotency import keys as idempotency
from chalicelib.log import log_context, logger
from chalicelib.models.pagination import MAX_PAGE_SIZE, PageRequest
from chalicelib.settings import get_settings

View = Callable[..., Any]
REPLAYED = "Idempotent-Replayed"
MODE_HEADER = "Colony-Mode"  # `test` puts a person's session in test mode (an API key has its own mode)


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    data: bytes
    charset: str = "utf-8"

    @property
    def text(self) -> str:
        """The part as text in its own charset (UTF-8 unless it says); text that is not is a 400."""
        try:
            return self.data.decode(self.charset)
        except (LookupError, UnicodeDecodeError):
            raise invalid_field(self.name, f"is not valid {self.charset} text") from None


ACCEPTED_EVERYWHERE = ("format",)  # DRF's ?format=json
JSON, FORM, MULTIPART = "application/json", "application/x-www-form-urlencoded", "multipart/form-data"


def _gathered(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs as fields: one value as text, a repeated name as the list of its values."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            found[name] = [*found[name], value] if isinstance(found[name], list) else [found[name], value]
        else:
            found[name] = value
    return found


class Call:
    """One request as a view sees it: the caller, and helpers that parse its parts or fail with a 4xx."""

    def __init__(self, request: Request, caller: Caller | None, operation: Operation | None = None) -> None:
        self.request = request
        self._caller = caller
        self.operation = operation
        self.read: set[str] = set(ACCEPTED_EVERYWHERE)

    @property
    def caller(self) -> Caller:
        assert self._caller is not None, "a public route has no caller"
        return self._caller

    @property
    def content_type(self) -> str:
        return (self.request.headers.get("content-type") or JSON).split(";")[0].strip().lower()

    def fields(self) -> Any:
        """The body as JSON, or as a URL-encoded or multipart form (as DRF takes every write): a form
        gives text, a list for a repeated name."""
        if self.content_type == FORM:
            raw = self._raw()
            try:  # as Django reads a form: a bare name is an empty value, a trailing & nothing
                pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
            except (UnicodeDecodeError, ValueError):
                raise InvalidInput(
                    "The form body is not valid URL-encoded UTF-8.", code="invalid_form"
                ) from None
            return _gathered(pairs)
        if self.content_type == MULTIPART:
            parts = self.form_parts(get_settings().max_body_bytes)
            files = [part.name for part in parts if part.filename is not None]
            if files:
                raise invalid_field(files[0], "is a file, and this route takes none")
            return _gathered((part.name, part.text) for part in parts)
        return self.json()

    def is_form(self) -> bool:
        return self.content_type in (FORM, MULTIPART)

    def _raw(self) -> bytes:
        raw = self.request.raw_body or b""
        limit = get_settings().max_body_bytes
        if len(raw) > limit:
            raise TooLarge(f"The body is larger than {limit} bytes.", code="body_too_large")
        return raw

    def json(self) -> Any:
        """The body as JSON of any shape (objects and arrays)."""
        raw = self._raw()
        content_type = self.content_type
        if content_type != JSON:
            raise UnsupportedMediaType(
                f"Send JSON (Content-Type: application/json) or a form, not {content_type}."
            )
        if not raw.strip():
            raise InvalidInput("The body is empty; send a JSON object.", code="invalid_json")
        try:
            return json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            raise InvalidInput(
                f"The body is not valid JSON: {_json_problem(error)}", code="invalid_json"
            ) from None

    def body(self, *, partial: bool = False, current: dict[str, Any] | None = None) -> dict[str, Any]:
        """The body (JSON or a form) checked against the route's declared schema (and, for an edit,
        the object as it is)."""
        schema = self.operation.body if self.operation is not None else None
        assert isinstance(schema, Schema), "the route declares no body schema"
        if schema.may_be_empty and not (self.request.raw_body or b"").strip():
            return {}
        if current is not None:
            account = self.operation is not None and self.operation.path.startswith(ACCOUNT_PATHS)
            current = marked(current, self.caller, account=account)  # as the client read it, `test` too
        return schema.parse(self.fields(), partial=partial, current=current, textual=self.is_form())

    def form(self, max_bytes: int, allowed: Iterable[str] | None = None) -> dict[str, FormPart]:
        """A multipart/form-data body as {field name: part}; larger than `max_bytes` is a 413; a name
        given twice, or not `allowed`, is a 400 naming it."""
        parts: dict[str, FormPart] = {}
        for part in self.form_parts(max_bytes):
            if part.name in parts:
                raise invalid_field(part.name, "is given twice")
            if allowed is not None and part.name not in allowed:
                raise invalid_field(part.name, f"is not a field of this form (it takes {', '.join(allowed)})")
            parts[part.name] = part
        return parts

    def form_parts(self, max_bytes: int) -> list[FormPart]:
        """A multipart/form-data body's parts in order; larger than `max_bytes` is a 413."""
        raw = self.request.raw_body or b""
        if len(raw) > max_bytes:
            raise TooLarge(
                f"The upload is larger than {max_bytes // (1024 * 1024)} MiB; "
                "for large files ask POST /uploads for an upload URL.",
                code="file_too_large",
            )
        content_type = self.request.headers.get("content-type") or ""
        if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
            raise UnsupportedMediaType("Send the file as multipart/form-data.")
        envelope = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=email.policy.HTTP).parsebytes(envelope + raw)
        parts = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                data = part.get_payload(decode=True) or b""
                charset = part.get_content_charset() or "utf-8"
                parts.append(FormPart(name=name, filename=part.get_filename(), data=data, charset=charset))
        return parts

    def query(self, name: str) -> str | None:
        assert self.operation is None or self.operation.declares(name), f"?{name} is not declared"
        self.read.add(name)
        return (self.request.query_params or {}).get(name)

    def query_id(self, name: str) -> int | None:
        """An integer id given as a query parameter (`?campaign_pk=3`), or None; anything else is a 400."""
        raw = self.query(name)
        if raw is None:
            return None
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            raise invalid_field(name, "must be an integer id")
        return int(raw)

    def repeated_query(self) -> None:
        """A query parameter given twice is a 400 naming it, before anything reads one of its values."""
        params = self.request.query_params or {}
        repeated = sorted(name for name in params if len(params.getlist(name)) > 1)
        if repeated:
            raise invalid_field(repeated[0], "is given more than once (give one value)")

    def unread_query(self) -> None:
        """A query parameter the route did not read is a 400 naming it: no filter is silently dropped."""
        params = self.request.query_params or {}
        if params.get("format", "json") != "json":
            raise invalid_field("format", "must be json (the only format Colony answers in)")
        if "page" in params and "page" not in self.read:
            raise invalid_field(
                "page", "is not how Colony pages: follow `next`, or pass its value as ?cursor="
            )
        unknown = sorted(set(params) - self.read)
        if unknown:
            raise invalid_field(unknown[0], "is not a query parameter of this route")

    def page(self) -> PageRequest:
        size_text = self.query("page_size")
        size = PageRequest.size
        if size_text is not None:
            if not size_text.isascii() or not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
                raise invalid_field("page_size", f"must be a whole number from 1 to {MAX_PAGE_SIZE}")
            size = int(size_text)
        return PageRequest(cursor=self.query("cursor"), size=size)


def object_id(raw: str, kind: str) -> int:
    """An id from a path: anything that is not one names no object, so it is a 404."""
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    raise NotFound(f"There is no {kind} {raw}.")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _json_problem(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "it is nested too deeply"
    return str(error)


def endpoint(
    bp: Blueprint,
    path: str,
    methods: tuple[str, ...] = ("GET",),
    *,
    public: bool = False,
    status: int = 200,
    content_types: tuple[str, ...] = (JSON, FORM, MULTIPART),
    body: Any = None,
    query: tuple[Param, ...] = (),
    responses: dict[int, Any] | None = None,
    errors: tuple[int, ...] = (),
    idempotent: bool | None = None,
    resumable: bool = False,
    answers_kept: int | None = None,
) -> Callable[[View], View]:
    """Register `view` on `bp` for `path`; `public` routes skip authentication (/health, and the
    webhooks, whose path carries a secret). What it takes and answers is declared here (see
    `operations.Operation`), and the OpenAPI document says it. Every authenticated POST takes an
    Idempotency-Key unless `idempotent=False` (one whose answer holds a secret shown once); a
    `resumable` one runs again after a request that died mid-way, others then say so (a 409)."""

    def register(view: View) -> View:
        takes_key = ("POST" in methods and not public) if idempotent is None else idempotent
        operation = Operation(
            path,
            methods,
            view,
            public,
            status,
            content_types,
            body,
            query,
            responses or {},
            errors,
            idempotent=takes_key,
            resumable=resumable,
            answers_kept=answers_kept or idempotency.KEPT_SECONDS,
        )
        OPERATIONS.append(operation)

        @functools.wraps(view)
        def handler(**path_params: str) -> Response:
            return _handle(bp.current_request, operation, path_params)

        handler.colony_endpoint = {"public": public}  # type: ignore[attr-defined]
        bp.route(path, methods=list(methods), content_types=list(content_types))(handler)
        return view

    return register


def _handle(request: Request, operation: Operation, path_params: dict[str, str]) -> Response:
    public, path = operation.public, operation.path
    started = time.monotonic()
    request_id = (request.context or {}).get("requestId")
    with log_context(request_id=request_id, route=f"{request.method} {path}"):
        try:
            caller = (
                None
                if public
                else authenticate(
                    request.headers.get("authorization"), request.headers.get(MODE_HEADER), source_ip(request)
                )
            )
            if caller is not None:
                logger.thread_safe_append_keys(company=caller.company, user=caller.user)
                request_limit.admit(caller.account)  # one limit for a company's live and test work
            call = Call(request, caller, operation)
            if not public:
                call.repeated_query()
            if not public and request.method not in ("GET", "HEAD"):
                call.unread_query()  # a write reads no query parameter: refused before it writes
            response = _answer(call, path_params)
        except ColonyError as error:
            response = error_response(error)
        except Exception:
            logger.exception("unhandled error")
            response = internal_error_response()
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        logger.info("request", status=response.status_code, duration_ms=duration_ms)
    return response


def source_ip(request: Request) -> str | None:
    """The caller's address as API Gateway saw it (the local server gives its peer's)."""
    return ((request.context or {}).get("identity") or {}).get("sourceIp")


def _answer(call: Call, path_params: dict[str, str]) -> Response:
    """The view's answer; under an Idempotency-Key, the first answer to the same request."""
    key = idempotent_requests.key_of(call)
    if key is None:
        return _run(call, path_params)
    operation = call.operation
    assert operation is not None
    begun = idempotency.begin(
        call.caller.company,
        key,
        idempotent_requests.fingerprint_of(call),
        idempotency.Policy(resumable=operation.resumable, kept_seconds=operation.answers_kept),
    )
    if isinstance(begun, idempotency.Replay):
        return Response(
            body=begun.body, status_code=begun.status, headers={**begun.headers, REPLAYED: "true"}
        )
    response = Response(body="", status_code=500)
    try:
        with idempotency.holding(begun):
            response = _run(call, path_params)
    except ColonyError as error:
        response = error_response(error)
    finally:
        idempotency.finish(begun, response.status_code, response.body, dict(response.headers))
    return response


ACCOUNT_PATHS = ("/users", "/api-keys", "/sessions")  # the live account's objects, the same in either mode


def _run(call: Call, path_params: dict[str, str]) -> Response:
    assert call.operation is not None
    result = call.operation.view(call, **path_params)
    if not call.operation.public:
        call.unread_query()
    if call.operation.public:
        return _render(result, call.operation.status)
    account = call.operation.path.startswith(ACCOUNT_PATHS)
    return _render(marked(result, call.caller, account=account), call.operation.status)


def marked(result: Any, caller: Caller | None, account: bool = False) -> Any:
    """Every object an authenticated route answers with (one, the objects of an answer that holds several
    such as `{erasure, task}`, or a page's) says whether it is test data; the live account's own objects
    (`account`: its users and keys) are live in either mode."""
    if caller is None or not isinstance(result, dict):
        return result
    test = caller.test and not account
    if isinstance(result.get("results"), list) and "next" in result:
        return {**result, "results": [_with_test(item, test) for item in result["results"]]}
    if "id" in result:
        return {**result, "test": test}
    return {name: _with_test(value, test) for name, value in result.items()}


def _with_test(value: Any, test: bool) -> Any:
    return {**value, "test": test} if isinstance(value, dict) and "id" in value else value


def json_content_type(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Say `Content-Type: application/json` on every JSON answer (Chalice leaves it to API Gateway)."""
    response = get_response(event)
    if not isinstance(response.body, (str, bytes)) and "content-type" not in {
        name.lower() for name in response.headers
    }:
        response.headers["Content-Type"] = JSON
    return response


def _render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(body="", status_code=204)
    return Response(body=result, status_code=status)
