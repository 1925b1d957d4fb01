"""The one error format of the API, and the one place that maps error kinds to HTTP statuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Response
from typing_extensions import TypedDict

from chalicelib.domain import errors

STATUS = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.InsufficientCredits: 402,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.Busy: 503,
}

# Chalice answers some requests itself, before any view runs; these give its answers our codes.
_CHALICE_CODES = {
    "BadRequestError": "bad_request",
    "BadRequest": "bad_request",
    "UnauthorizedError": "unauthenticated",
    "ForbiddenError": "forbidden",
    "NotFoundError": "not_found",
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "RequestTimeoutError": "timeout",
    "ConflictError": "conflict",
    "UnprocessableEntityError": "invalid_input",
    "TooManyRequestsError": "rate_limited",
    "InternalServerError": "internal_error",
}


def status_of(error: errors.ColonyError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


class ErrorDetail(TypedDict):
    """`code` is stable (branch on it); `message` is for people; `fields` names each field at fault."""

    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorBody(TypedDict):
    """Every error the API answers, whatever its status."""

    error: ErrorDetail


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> ErrorBody:
    return errors.error_body(code, message, fields)  # type: ignore[return-value]  # the shape ErrorBody says


def error_response(error: errors.ColonyError) -> Response:
    headers = {"WWW-Authenticate": "Token"} if isinstance(error, errors.Unauthenticated) else {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(
        body=error_body(error.code, error.message, error.fields),
        status_code=status_of(error),
        headers=headers,
    )


def internal_error_response() -> Response:
    return Response(
        body=error_body("internal_error", "Something went wrong on our side; it has been logged."),
        status_code=500,
    )


def chalice_errors_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Give the errors Chalice produces on its own (405, 415, its 500) the API's error format."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = _CHALICE_CODES.get(body["Code"], "error")
        message = body["Message"] if response.status_code < 500 else "Something went wrong on our side."
        response.body = error_body(code, message)
    return response
