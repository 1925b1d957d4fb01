"""One-click unsubscribe from marketing email (RFC 8058): every marketing email carries a link with a
token that names the company and the address, signed with that company's own secret, so no API key is
needed, a forged token is a 404, and one company's token cannot opt an address out at another."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from chalicelib.domain.contacts import optouts
from chalicelib.domain.errors import NotFound
from chalicelib.domain.rules.addresses import address_key
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.models.base import condition_failed
from chalicelib.models.companies import Company
from chalicelib.settings import SettingsError, get_settings

MAC_BYTES = 16
REASON, SOURCE = "unsubscribed", "unsubscribe_link"


def link_for(company: Company, address: str) -> str:
    """The unsubscribe link of `address`'s marketing email from `company`. Without a public URL (a
    deployed stage must set COLONY_PUBLIC_URL) no marketing email can go: it would carry a dead link."""
    public_url = get_settings().public_url
    if not public_url:
        raise SettingsError("COLONY_PUBLIC_URL is not set: marketing email needs a working unsubscribe link")
    return f"{public_url}/unsubscribe/{token_for(company, address)}"


def token_for(company: Company, address: str) -> str:
    payload = f"{company.id}:{address_key(address)}".encode()
    return f"{_encode(payload)}.{_encode(_mac(_secret(company), payload))}"


def with_unsubscribe(text: str, html: str | None, link: str) -> tuple[str, str | None]:
    """A marketing email's text and HTML parts with the unsubscribe footer every one of them carries."""
    footer = f"\n\n--\nTo stop these emails: {link}"
    anchor = f'<p style="font-size:small"><a href="{link}">Unsubscribe</a> from these emails.</p>'
    return text + footer, (html + anchor if html is not None else None)


def unsubscribe(token: str) -> optouts.Recorded:
    """Opt the token's address out of the token's company's email (once: a second click finds it)."""
    company, key = _read(token)
    return optouts.create(company.id, key, None, REASON, source=SOURCE, channel=EMAIL)


def address_of(token: str) -> str:
    """The address a valid token names (for the confirmation page), or a 404."""
    return _read(token)[1]


def _read(token: str) -> tuple[Company, str]:
    missing = NotFound("This unsubscribe link is not valid.")
    payload_text, _, mac_text = token.partition(".")
    try:
        payload, mac = _decode(payload_text), _decode(mac_text)
        company_text, _, key = payload.decode().partition(":")
        company_id = int(company_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise missing from None
    company = Company.get_or_none(company_id) if 0 < abs(company_id) < 2**63 else None  # test data: < 0
    if company is None or not key or company.unsubscribe_secret is None:
        raise missing
    if not hmac.compare_digest(mac, _mac(company.unsubscribe_secret, payload)):
        raise missing
    return company, key


def _secret(company: Company) -> str:
    """The company's signing secret, made once for a company created before there were any."""
    if company.unsubscribe_secret is None:
        try:
            company.update(
                actions=[Company.unsubscribe_secret.set(secrets.token_urlsafe(32))],
                condition=Company.unsubscribe_secret.does_not_exist(),
            )
        except Exception as error:
            if not condition_failed(error):
                raise
            company.refresh(consistent_read=True)
    return company.unsubscribe_secret


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:MAC_BYTES]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    if not text or len(text) > 1200:
        raise ValueError("no token")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
