"""Sender ids: an alphanumeric name (1 to 11 characters, with a letter), which cannot receive, or a number
(a long code or a short code), which can, stored as international digits."""

from __future__ import annotations

import re

import phonenumbers

from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise

_ALPHANUMERIC = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ._-]{1,11}")
_NUMERIC = re.compile(r"\+?[0-9]{3,15}")
_SEPARATORS = re.compile(r"[\s\-.()]")
RULE = "must be 1 to 11 letters and digits (with a letter) or a phone number of 3 to 15 digits"


def normalise_sender(value: str | None, region: str = "ZA") -> str | None:
    """The sender as stored and compared (blank means none); ValueError names the rule it breaks. A number
    is read with the phone rules of `region` (`0821234567` is `27821234567`); a short code stays as typed."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _ALPHANUMERIC.fullmatch(value):
        return value
    number = sender_number(value, region)
    if number is None:
        raise ValueError(RULE)
    return number


def sender_number(value: str, region: str = "ZA") -> str | None:
    """A numeric sender's international digits (a phone number in any form, `tel:` too, or a short code's
    digits); None when `value` is no number."""
    try:
        return normalise(value, region)
    except InvalidPhoneNumber:
        pass
    digits = _SEPARATORS.sub("", value.strip())
    if digits[:4].lower() == "tel:":
        digits = digits[4:]
    return digits.lstrip("+") if _NUMERIC.fullmatch(digits) else None


def is_numeric(sender: str) -> bool:
    """Whether a normalised sender is a number, which can receive (and so belongs to one company)."""
    return sender.isdigit()


def older_spellings(sender: str) -> list[str]:
    """How an opt-out of `sender` (as normalised now) may have been stored before senders were normalised
    and folded: a name in the cases people type it, a number also in its national digits and with a `+`
    (`0821234567`, `+27821234567`)."""
    spellings = [sender]
    if not is_numeric(sender):  # a name as people type it: `ACME`, `acme`, `Acme`, `Big Shop`
        return list(
            dict.fromkeys([sender, sender.upper(), sender.lower(), sender.capitalize(), sender.title()])
        )
    try:
        parsed = phonenumbers.parse(f"+{sender}")
    except phonenumbers.NumberParseException:
        return spellings
    national = re.sub(r"\D", "", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    return [*spellings, f"+{sender}", *([national] if national and national != sender else [])]
