"""The Idempotency-Key of a request, and what makes a repeat the same request."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from typing import Any, Protocol

from chalice.app import Request

from chalicelib.api.operations import Operation
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.errors import ColonyError, invalid_field
from chalicelib.domain.rules.idempotency_keys import HEADER, check_key, fingerprint


class Call(Protocol):
    """What these read of `http.Call`."""

    request: Request
    operation: Operation | None

    @property
    def caller(self) -> Caller: ...

    @property
    def content_type(self) -> str: ...

    def form_parts(self, max_bytes: int) -> list[Any]: ...


MULTIPART = "multipart/form-data"


def key_of(call: Call) -> str | None:
    """The request's Idempotency-Key, checked; one given to a route that takes none is a 400."""
    value = call.request.headers.get(HEADER.lower())
    if value is None:
        return None
    operation = call.operation
    if operation is None or not operation.idempotent or call.request.method != "POST":
        raise invalid_field(
            HEADER,
            "is taken only by a POST that creates or sends (a GET, PATCH, PUT or DELETE is already safe "
            "to repeat, and a route whose answer holds a secret shown once keeps none)",
        )
    return check_key(value)


def fingerprint_of(call: Call) -> str:
    """What makes a repeat the same request; a multipart body by its parts, since a client picks a new
    boundary each time it sends one."""
    request = call.request
    query = urllib.parse.urlencode(sorted((request.query_params or {}).items()))
    path = f"{request.path} {json.dumps(request.uri_params or {}, sort_keys=True)}"
    body = request.raw_body or b""
    if call.content_type == MULTIPART:
        try:
            parts = call.form_parts(len(body))
        except ColonyError:
            parts = []  # the view refuses it, with its reason
        body = (
            b"".join(hashlib.sha256(f"{p.name}\0{p.filename}\0".encode() + p.data).digest() for p in parts)
            or body
        )
    return fingerprint(request.method, path, query, call.content_type, body, _who(call.caller))


def _who(caller: Caller) -> str:
    """The person (and role) a request acts as: a repeat must come from them."""
    return f"{caller.user}:{caller.role}"
