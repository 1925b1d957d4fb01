"""The key an imported row is stored under: its number, or (for an import that takes addresses) its
address's key when it has no number; or why the row is rejected."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.imports.csvfiles import ContactRow
from chalicelib.domain.rules.addresses import InvalidAddress, normalise_address
from chalicelib.domain.rules.destinations import NO_NUMBER, person_key
from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise


@dataclass(frozen=True)
class Refusal:
    """Why a row is rejected: the value it is about, the reason's code and its words."""

    value: str
    reason: str
    detail: str


def row_key(
    contact: ContactRow, region: str, takes_addresses: bool, has_phone_column: bool, simulated: bool = False
) -> str | Refusal:
    """The row's key, normalising its address in place. An address in the phone column of a row with
    no email is read as its email."""
    if "@" in contact.phone and contact.email is None and takes_addresses:
        contact.email, contact.phone = contact.phone, ""
    if contact.email is not None:
        try:
            contact.email = normalise_address(contact.email, simulated=simulated)
        except InvalidAddress as error:
            return Refusal(contact.email, "invalid_email", error.reason)
    if not contact.phone and contact.email is None and not has_phone_column:
        return Refusal("", "invalid_email", "must be an email address (the row has none)")
    if not contact.phone and contact.email is not None:
        if takes_addresses:
            return person_key(None, contact.email)
        return Refusal(contact.email, NO_NUMBER, "this import needs a phone number on every row")
    try:
        return normalise(contact.phone, region, simulated=simulated)
    except InvalidPhoneNumber as error:
        return Refusal(contact.phone, error.reason, "")
