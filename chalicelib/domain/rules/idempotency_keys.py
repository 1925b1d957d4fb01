"""What an `Idempotency-Key` may be, and what makes two requests the same one."""

from __future__ import annotations

import hashlib

from chalicelib.domain.errors import invalid_field

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


def check_key(value: str) -> str:
    """1 to 255 printable ASCII characters (a UUID is the usual choice); anything else is a 400."""
    if not 1 <= len(value) <= MAX_LENGTH:
        raise invalid_field(HEADER, f"must be 1 to {MAX_LENGTH} characters long")
    if not (value.isascii() and value.isprintable()):
        raise invalid_field(HEADER, "must be printable ASCII characters only")
    return value


def fingerprint(method: str, path: str, query: str, content_type: str, body: bytes, caller: str) -> str:
    """The request a key was first used for, and who made it: a repeat must match it exactly (so a
    replay never gives one person an answer their role would not get)."""
    digest = hashlib.sha256()
    for part in (caller, method.upper(), path, query, content_type.lower()):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body)
    return digest.hexdigest()
