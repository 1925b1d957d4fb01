"""Errors a user can cause, each with a string code; `chalicelib.api.errors` maps their kinds to HTTP.

Programmer mistakes are assertions, not these.
"""

from __future__ import annotations

from typing import Any


class ColonyError(Exception):
    """Base of every user-facing error: a code, a message and, for bad input, the fields at fault."""

    code = "bad_request"
    retry_after: int | None = None  # seconds, said in a Retry-After header

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}


class InvalidInput(ColonyError):
    code = "invalid_input"


class Unauthenticated(ColonyError):
    code = "unauthenticated"


class Forbidden(ColonyError):
    code = "forbidden"


class NotFound(ColonyError):
    code = "not_found"


class Conflict(ColonyError):
    code = "conflict"


class InsufficientCredits(ColonyError):
    code = "insufficient_credits"


class TooLarge(ColonyError):
    code = "too_large"


class UnsupportedMediaType(ColonyError):
    code = "unsupported_media_type"


class RateLimited(ColonyError):
    code = "rate_limited"


class Unprocessable(ColonyError):
    """Well-formed, but it contradicts what was asked before (a key reused for another request)."""

    code = "unprocessable"


class Busy(ColonyError):
    """Too many writes to the same records at once; the same request later will succeed."""

    code = "busy"


def invalid_field(name: str, reason: str) -> InvalidInput:
    """The common case: one field is wrong for one reason."""
    return InvalidInput(f"{name}: {reason}", fields={name: [reason]})


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The one shape of every error answered (and of one kept to be answered again)."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}
