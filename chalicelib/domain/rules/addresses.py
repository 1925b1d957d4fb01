"""Email addresses, checked and normalised by `email-validator`: syntax only, never a DNS lookup (an
import must not wait on the network). The domain is lowercased and internationalised names are kept in
Unicode; `address_key` is the case-free form opt-outs are matched on."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_ADDRESS = 254


class InvalidAddress(ValueError):
    """Not an email address; `reason` says why, in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise_address(value: object) -> str:
    """The address as it is stored and sent to, or InvalidAddress."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidAddress("must be an email address")
    text = value.strip()
    if len(text) > MAX_ADDRESS:
        raise InvalidAddress(f"must be at most {MAX_ADDRESS} characters")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddress(f"must be an email address ({str(error).rstrip('.')})") from None
    return checked.normalized


def address_key(address: str) -> str:
    """The form two spellings of one mailbox share (`Ann@Example.com`, `ann@example.com`)."""
    return address.casefold()
