"""One person's number or address as it may be written anywhere (free text, JSON, CSV cells), and the
one-way token an erasure writes in its place. Pure: the erasure and the opt-out check share it."""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers

ERASED = "erased:"
_GAP = r"[\s\-.()/]*"  # what people put between digits: spaces, dashes, dots, brackets, slashes


def _spaced(digits: str) -> str:
    return _GAP.join(digits)


def number_pattern(number: str) -> re.Pattern[str]:
    """Every spelling of `number` (international digits, `27815854565`): `+27815854565`, `0815854565`,
    `081 585 4565`, `+27 (0)81 585 4565`, `0027815854565`, the national digits alone; never inside a
    longer run of digits."""
    parsed = phonenumbers.parse("+" + number)
    code = str(parsed.country_code)
    national = phonenumbers.national_significant_number(parsed)
    prefix = rf"(?:(?:\+|00)?{_GAP}{_spaced(code)}{_GAP}(?:\(0\))?|0)?"
    return re.compile(rf"(?<!\d){prefix}{_GAP}{_spaced(national)}(?!\d)")


def address_pattern(address: str) -> re.Pattern[str]:
    """`address` in any case, and with its `@` URL-encoded (as a query string carries it)."""
    return re.compile(re.escape(address).replace("@", "(?:@|%40)"), re.IGNORECASE)


def erased_token(secret: str, company: int, person_key: str) -> str:
    """`erased:<hex>`: HMAC-SHA-256 of the company and the person's key under the platform's secret. The
    same person gives the same token within a company (counts by recipient stay true) and a different
    one in every other company (two companies' erasures cannot be linked)."""
    digest = hmac.new(secret.encode(), f"{company}:{person_key}".encode(), hashlib.sha256).hexdigest()
    return ERASED + digest


def is_erased(value: str) -> bool:
    return value.startswith(ERASED)
