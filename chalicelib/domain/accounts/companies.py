"""Companies: their settings, their credits, and how one comes to exist."""

from __future__ import annotations

import hmac
import secrets
import unicodedata
import zoneinfo
from dataclasses import dataclass
from email.utils import formataddr, getaddresses, parseaddr
from typing import Any

import phonenumbers
from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import clock, daily_credit_limit
from chalicelib.domain.accounts import sender_numbers, users
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.audit.entries import record
from chalicelib.domain.callbacks.secret import new_secret
from chalicelib.domain.callbacks.targets import check_url
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound, invalid_field
from chalicelib.domain.rules.addresses import InvalidAddress, normalise_address
from chalicelib.domain.rules.retention import (
    DEFAULT_FILE_RETENTION_DAYS,
    DEFAULT_MESSAGE_RETENTION_DAYS,
    check_file_retention,
    check_message_retention,
)
from chalicelib.domain.rules.senders import is_numeric, normalise_sender
from chalicelib.models.base import failed_conditions, transaction
from chalicelib.models.claims import Claim, sender_number_key
from chalicelib.models.companies import START_REPLY, STOP_REPLY, Company
from chalicelib.models.counters import allocate_ids
from chalicelib.models.users import User
from chalicelib.settings import get_settings

DEFAULTS: dict[str, Any] = {
    "default_region": "ZA",
    "timezone": "Africa/Johannesburg",
    "sender_id": None,
    "optout_text": "Reply STOP to opt out",
    "quiet_hours": True,
    "require_second_approver": True,
    "send_rate": 20,
    "optout_scope": "company",
    "keyword_replies": True,
    "stop_reply": STOP_REPLY,
    "start_reply": START_REPLY,
    "email_from": None,
    "email_reply_to": None,
    "email_credits": 1,
    "email_send_rate": 10,
    "callback_url": None,
    "daily_credit_limit": None,
    "file_retention_days": DEFAULT_FILE_RETENTION_DAYS,
    "message_retention_days": DEFAULT_MESSAGE_RETENTION_DAYS,
}
EDITABLE = ("name", *DEFAULTS)


@dataclass(frozen=True)
class NewCompany:
    company: Company
    admin: User
    api_key: str


def check_settings(changes: dict[str, Any], region: str = "ZA") -> dict[str, Any]:
    """Normalise and validate company settings; every bad field is named, with its reason. A numeric
    `sender_id` is read in the region the changes set, else in `region` (the company's)."""
    checked, problems = {}, {}
    for name, value in sorted(changes.items(), key=lambda item: item[0] == "sender_id"):
        assert name in EDITABLE, f"not a company setting: {name}"
        try:
            if name == "sender_id":
                checked[name] = normalise_sender(value, checked.get("default_region", region))
            else:
                checked[name] = _CHECKS.get(name, _unchanged)(value)
        except ValueError as error:
            problems[name] = [str(error)]
    if problems:
        raise InvalidInput("Some company settings are not valid.", fields=problems)
    return checked


def _name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 100:
        raise ValueError("must be 1 to 100 characters")
    return value


def _region(value: str) -> str:
    value = value.strip().upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region code that phone numbers use, such as ZA")
    return value


def _timezone(value: str) -> str:
    if value not in _timezones():
        raise ValueError("must be an IANA time zone, such as Africa/Johannesburg")
    return value


def _timezones() -> set[str]:
    return zoneinfo.available_timezones()


def _optout_text(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 100:
        raise ValueError("must be 1 to 100 characters: it is appended to every marketing message")
    return value


def _unchanged(value: Any) -> Any:
    return value


OPTOUT_SCOPES = ("company", "sender")


def _optout_scope(value: str) -> str:
    if value not in OPTOUT_SCOPES:
        raise ValueError("must be company (STOP opts out of every sender) or sender (of the one it answered)")
    return value


def _reply(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 160:
        raise ValueError("must be 1 to 160 characters")
    return value


def _email_from(value: str | None) -> str | None:
    """`Display Name <address>` or a bare address, normalised; None sends no email."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(getaddresses([text])) != 1 or text.count("<") > 1 or "=?" in text:
        raise ValueError("must be one address, or a display name and one <address>")
    name, address = parseaddr(text)
    if not address or (name and not text.endswith(f"<{address}>")):
        raise ValueError("must be an address, or a display name and <address>")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        raise ValueError("must have a display name of one line")
    try:
        address = normalise_address(address)
    except InvalidAddress as error:
        raise ValueError(error.reason) from None
    return formataddr((name, address)) if name else address


def _reply_to(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return normalise_address(value)
    except InvalidAddress as error:
        raise ValueError(error.reason) from None


def _email_credits(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValueError("must be 0 to 100 credits an email")
    return value


def _email_send_rate(value: int) -> int:
    if not 1 <= value <= 1000:
        raise ValueError("must be 1 to 1000 emails a second")
    return value


def _callback_url(value: str | None) -> str | None:
    """Where callbacks go (checked against SSRF, see `callbacks/targets`); empty or None: nowhere."""
    if value is None or not value.strip():
        return None
    return check_url(value, get_settings().is_local)


def _send_rate(value: int) -> int:
    if not 1 <= value <= 1000:
        raise ValueError("must be 1 to 1000 messages a second")
    return value


_CHECKS = {
    "send_rate": _send_rate,
    "optout_scope": _optout_scope,
    "stop_reply": _reply,
    "start_reply": _reply,
    "name": _name,
    "default_region": _region,
    "timezone": _timezone,
    "optout_text": _optout_text,
    "email_from": _email_from,
    "email_reply_to": _reply_to,
    "email_credits": _email_credits,
    "email_send_rate": _email_send_rate,
    "callback_url": _callback_url,
    "daily_credit_limit": daily_credit_limit.check_limit,
    "file_retention_days": check_file_retention,
    "message_retention_days": check_message_retention,
}


def create_company(name: str, admin_email: str, credits: int = 0, **settings: Any) -> NewCompany:
    """A company with its first admin and that admin's first API key, written in one transaction."""
    if credits < 0:
        raise invalid_field("credits", "must not be negative")
    checked = check_settings({"name": name, **DEFAULTS, **settings})
    email = users.check_email(admin_email)
    number = _first_number(checked["sender_id"])
    now = clock.now()
    company = Company(
        id=allocate_ids("company")[0],
        credits=credits,
        webhook_token=secrets.token_urlsafe(24),
        unsubscribe_secret=secrets.token_urlsafe(32),
        admin_count=1,
        credits_used={},
        sender_numbers={number} if number else None,
        date_created=now,
        date_updated=now,
        **checked,
    )
    with transaction() as write:
        write.save(company, condition=Company.id.does_not_exist())
        if number:
            write.save(
                Claim(key=sender_number_key(number), owner=str(company.id)),
                condition=Claim.key.does_not_exist(),
            )
        admin = users.add_new_user(write, Caller.operator(company.id), email, "admin")
    return NewCompany(company=company, admin=admin.user, api_key=admin.api_key)


def get_company(caller: Caller) -> Company:
    """The caller's company: the item this request's authentication read with its key, else read now."""
    if caller.company_item is not None:
        return Company.from_raw_data(caller.company_item)
    company = Company.get_or_none(caller.company)
    if company is None:
        raise NotFound("The company no longer exists.")
    return company


def company_for_webhook(token: str) -> Company:
    """The company whose webhook URLs carry `token` (compared in constant time); else a 404."""
    if 16 <= len(token) <= 64:
        for hit in Company.by_webhook_token.query(token, limit=2):
            company = Company.get_or_none(hit.id)
            if company is not None and hmac.compare_digest(company.webhook_token.encode(), token.encode()):
                return company
    raise NotFound("There is no webhook at this address.")


def _first_number(sender: str | None) -> str | None:
    """A new company's numeric sender id, assigned to it as it is created (by the operator); one that is
    another company's number is a 409 naming `sender_id`."""
    if sender is None or not is_numeric(sender):
        return None
    if sender_numbers.owner_of(sender) is not None:
        raise Conflict(
            f"{sender} is assigned to another company.",
            code="number_taken",
            fields={"sender_id": ["is assigned to another company"]},
        )
    return sender


def update_company(caller: Caller, changes: dict[str, Any]) -> Company:
    caller.require("admin")
    company = get_company(caller)
    checked = check_settings(changes, company.default_region)
    if not checked:
        return company
    condition = Company.id.exists()
    if "sender_id" in checked and checked["sender_id"] != company.sender_id:
        try:
            ours = sender_numbers.chosen(company, checked["sender_id"])
        except ValueError as error:
            raise invalid_field("sender_id", str(error)) from None
        condition = condition & ours if ours is not None else condition
    actions = [
        getattr(Company, name).set(value) if value is not None else getattr(Company, name).remove()
        for name, value in checked.items()
    ]
    changes = {name: (getattr(company, name), value) for name, value in checked.items()}
    if checked.get("callback_url") and not company.callback_secret:
        issued = new_secret()  # the answer shows it, this once
        actions.append(Company.callback_secret.set(issued))
        changes["callback_secret"] = (None, issued)
    try:
        with transaction() as write:
            write.update(
                company, actions=[*actions, Company.date_updated.set(clock.now())], condition=condition
            )
            if any(before != after for before, after in changes.values()):
                record(write, caller, "company.updated", "company", company.id, changes)
    except TransactWriteError as error:
        if failed_conditions(error)[:1] == [True]:  # the number was taken from the company meanwhile
            raise invalid_field("sender_id", sender_numbers.NOT_OURS) from None
        raise
    return Company.get(company.id, consistent_read=True)
