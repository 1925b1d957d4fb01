"""Email addresses, checked and normalised by `email-validator`: syntax only, never a DNS lookup (an
import must not wait on the network). The domain is lowercased, and an internationalised domain is kept in
punycode (the form SES sends to); `address_key` is the lowercased form opt-outs are matched on."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from chalicelib.domain.errors import invalid_field

MAX_ADDRESS = 254


class InvalidAddress(ValueError):
    """Not an email address; `reason` says why, in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalise_address(value: object, *, simulated: bool = False) -> str:
    """The address as it is stored and sent to, or InvalidAddress; `simulated` (a test tenant's) takes the
    `.test` domains too, where the simulator's addresses are."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidAddress("must be an email address")
    text = value.strip()
    if len(text) > MAX_ADDRESS:
        raise InvalidAddress(f"must be at most {MAX_ADDRESS} characters")
    if "=?" in text:
        raise InvalidAddress("must be an email address (it may not hold an encoded word, =?…?=)")
    try:
        checked = validate_email(text, check_deliverability=False, test_environment=simulated)
    except EmailNotValidError as error:
        raise InvalidAddress(f"must be an email address ({str(error).rstrip('.')})") from None
    if checked.ascii_email is None:
        raise InvalidAddress("must have a plain-ASCII mailbox name (SES sends to no internationalised one)")
    return checked.ascii_email


def checked_address(value: object, field: str, *, simulated: bool = False) -> str:
    """`normalise_address`, or the 400 that names `field` and the reason."""
    try:
        return normalise_address(value, simulated=simulated)
    except InvalidAddress as error:
        raise invalid_field(field, error.reason) from None


def address_key(address: str) -> str:
    """The form two spellings of one mailbox share (`Ann@Example.com`, `ann@example.com`)."""
    return address.lower()
