"""What a password must be: at least 12 characters, at most 256, and not a common one.

The common passwords are Django's list (common-passwords.txt.gz beside this file, copied from Django 5.2,
BSD licence, Copyright (c) Django Software Foundation and individual contributors): 19,640 passwords
seen in breaches. A password is common when it, lowercased, or its letters before trailing digits and
marks are on that list ("Sunshine2026!!" is "sunshine").
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 256
_TRAILING = re.compile(r"[\d\W_]+$")


@cache
def _common() -> frozenset[str]:
    data = (resources.files(__package__) / "common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def password_problem(password: str, email: str) -> str | None:
    """Why `password` is refused, in words for the person choosing it; None when it will do."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    lowered = password.lower()
    if lowered in _common() or _TRAILING.sub("", lowered) in _common() or len(set(lowered)) < 4:
        return "is too common; choose a passphrase of a few unrelated words"
    if email and lowered in (email.lower(), email.lower().partition("@")[0]):
        return "must not be your email address"
    return None
