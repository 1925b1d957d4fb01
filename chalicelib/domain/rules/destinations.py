"""Where a person is reached on each channel. A contact is keyed by its number, or by its address's key
when it has no number (an address holds an `@`, a number never does). A deployment has one recipient
row per message: the SMS keyed by the number, the email by the address's key; a person the deployment's
channel cannot reach (no number for SMS, no address for email) still has a row, failed for free."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.rules.addresses import address_key
from chalicelib.domain.rules.channels import DISPATCH, EMAIL, SMS

NO_NUMBER, NO_ADDRESS = "no_number", "no_address"


def person_key(msisdn: str | None, email: str | None) -> str:
    """The key a contact is stored under: its number, or its address's key."""
    if msisdn:
        return msisdn
    if email:
        return address_key(email)
    raise ValueError("a contact needs a number or an address")


def number_in(key: str) -> str | None:
    """The number a contact key is, or None for an address's key."""
    return None if "@" in key else key


@dataclass(frozen=True)
class Destination:
    """One message of a deployment to one person: its channel, its row's key, and why it cannot be
    sent (None when it can)."""

    channel: str
    key: str
    unreachable: str | None = None


def destinations(dispatch: int, key: str, email: str | None) -> list[Destination]:
    """The messages `dispatch` sends a person keyed `key` with address `email`: 1 the SMS, 2 the email,
    3 each of them the person can get."""
    number = number_in(key)
    channels = DISPATCH[dispatch]
    found = []
    if SMS in channels and (number or len(channels) == 1):
        found.append(Destination(SMS, key, None if number else NO_NUMBER))
    if EMAIL in channels and (email or len(channels) == 1):
        found.append(Destination(EMAIL, address_key(email) if email else key, None if email else NO_ADDRESS))
    return found


def unreachable_reason(channel: str | None, key: str, email: str | None) -> str | None:
    """Why a recipient row cannot be sent on its channel (None: it can): an SMS keyed by an address,
    an email to nobody."""
    if channel == EMAIL:
        return None if email else NO_ADDRESS
    return None if number_in(key) else NO_NUMBER
