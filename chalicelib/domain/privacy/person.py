"""The person an erasure is for: their key as Colony stores it (a number, or an address's key), every
spelling of it, and the token that replaces it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import invalid_field
from chalicelib.domain.rules.addresses import address_key, checked_address
from chalicelib.domain.rules.channels import EMAIL, SMS
from chalicelib.domain.rules.modes import is_test
from chalicelib.domain.rules.person_spellings import (
    address_pattern,
    erased_token,
    found_in,
    number_pattern,
    replaced,
)
from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise
from chalicelib.settings import SettingsError, get_settings


@dataclass(frozen=True)
class Person:
    company: int
    channel: str  # sms: erased by number; email: by address
    key: str  # international digits, or the address's key
    token: str
    pattern: re.Pattern[str]

    def redact(self, text: str) -> str:
        """`text` with every spelling of the person (however its digits and dashes are written) replaced
        by their token."""
        return replaced(self.pattern, text, self.token)

    def named_in(self, text: str) -> bool:
        return found_in(self.pattern, text)


def token_for(company: int, person_key: str) -> str:
    """The erased token of a number or an address's key in `company` (keyed by COLONY_ERASURE_KEY)."""
    secret = get_settings().erasure_key
    if not secret:
        raise SettingsError("COLONY_ERASURE_KEY is not set: erased people cannot be hashed")
    return erased_token(secret, company, person_key)


def person_of(company: int, channel: str, key: str) -> Person:
    pattern = number_pattern(key) if channel == SMS else address_pattern(key)
    return Person(company, channel, key, token_for(company, key), pattern)


def person_to_erase(company: int, region: str, msisdn: Any, email: Any) -> Person:
    """The person a request names by exactly one of `msisdn` or `email`, read with the company's rules
    (in test data, the simulator's numbers and addresses too)."""
    simulated = is_test(company)
    if (msisdn is None) == (email is None):
        name = "msisdn" if msisdn is None else "email"
        raise invalid_field(name, "give exactly one of msisdn or email")
    if email is not None:
        return person_of(company, EMAIL, address_key(checked_address(email, "email", simulated=simulated)))
    try:
        number = normalise(
            str(msisdn) if isinstance(msisdn, (str, int)) else None, region, simulated=simulated
        )
    except InvalidPhoneNumber as error:
        raise invalid_field("msisdn", f"must be a phone number ({error.reason})") from None
    return person_of(company, SMS, number)
