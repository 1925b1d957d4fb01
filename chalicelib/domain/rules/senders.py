"""Sender ids: an alphanumeric name (1 to 11 characters, with a letter) or a number (stored as digits)."""

from __future__ import annotations

import re

_ALPHANUMERIC = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ._-]{1,11}")
_NUMERIC = re.compile(r"\+?[0-9]{3,15}")
RULE = "must be 1 to 11 letters and digits (with a letter) or a phone number of 3 to 15 digits"


def normalise_sender(value: str | None) -> str | None:
    """The sender as stored and compared (blank means none); ValueError names the rule it breaks."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _ALPHANUMERIC.fullmatch(value):
        return value
    if _NUMERIC.fullmatch(value):
        return value.lstrip("+")
    raise ValueError(RULE)
