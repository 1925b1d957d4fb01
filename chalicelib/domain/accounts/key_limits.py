"""What contains a leaked API key: the networks it works from (`allowed_ips`), when it stops working
(`expires_at`), and the date it was last used (`last_used`, written at most once a day)."""

from __future__ import annotations

import contextlib
import ipaddress
from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError

from chalicelib.domain import clock
from chalicelib.domain.errors import Forbidden, Unauthenticated, invalid_field
from chalicelib.models.api_keys import ApiKey

MAX_NETWORKS = 50


def check_networks(value: list[str] | None) -> list[str] | None:
    """`allowed_ips` as set: IPv4 and IPv6 networks in CIDR notation (a bare address is one host), each
    normalised; None or an empty list is anywhere."""
    if not value:
        return None
    if len(value) > MAX_NETWORKS:
        raise invalid_field("allowed_ips", f"must hold at most {MAX_NETWORKS} networks")
    networks = []
    for item in value:
        if not isinstance(item, str):
            raise invalid_field(
                "allowed_ips", "must be a list of networks in CIDR notation, such as 203.0.113.0/24"
            )
        try:
            network = ipaddress.ip_network(item.strip())
        except ValueError:
            raise invalid_field("allowed_ips", _network_problem(item.strip())) from None
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
            raise invalid_field(
                "allowed_ips",
                f"{item.strip()[:50]!r} is IPv4-mapped: write the network as IPv4, such as "
                f"{network.network_address.ipv4_mapped}/{max(network.prefixlen - 96, 0)}",
            )
        networks.append(str(network))
    return list(dict.fromkeys(networks))


def check_may_manage_keys(caller_key: ApiKey | None, mode: str) -> None:
    """A key held to networks or an expiry may not make or change keys (a leaked one would mint a key
    free of them), and a test key may make only test keys; people's sessions and free keys may."""
    if caller_key is None:
        return
    if caller_key.allowed_ips or caller_key.expires_at is not None:
        raise Forbidden(
            "A key held to allowed_ips or an expires_at cannot make or change API keys; use the web app "
            "or a key without limits.",
            code="limited_key",
        )
    if (caller_key.mode or "live") != "live" and mode == "live":
        raise Forbidden("A test key can make only test keys.", code="test_key")


def _network_problem(text: str) -> str:
    """Why `text` is not a network, shown with it (it is the caller's own input, no secret)."""
    shown = text[:50]
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return f"{shown!r} is not an IPv4 or IPv6 network in CIDR notation, such as 203.0.113.0/24"
    return f"{shown!r} has bits set past its prefix: the network is {network}"


def check_expiry(value: str | None) -> datetime | None:
    """`expires_at` as set: None (never), or an ISO-8601 moment with its offset, in the future."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment.astimezone(UTC).replace(microsecond=0) if moment.tzinfo else moment
    except (ValueError, OverflowError):
        raise invalid_field(
            "expires_at", "must be an ISO-8601 date and time, such as 2027-01-31T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise invalid_field("expires_at", "must give its offset, such as Z or +02:00")
    if moment <= clock.now():
        raise invalid_field("expires_at", "must be in the future")
    return moment


def admit(key: ApiKey, source_ip: str | None) -> None:
    """Refuse an expired key (401) or one used from outside its networks (403); note the day's use."""
    if key.expires_at is not None and key.expires_at <= clock.now():
        raise Unauthenticated("The API key has expired; make a new one.", code="api_key_expired")
    if key.allowed_ips and not _allowed(source_ip, key.allowed_ips):
        raise Forbidden(
            f"This API key is not allowed from {source_ip or 'an unknown address'}: see its allowed_ips.",
            code="ip_not_allowed",
        )
    _note_use(key)


def _allowed(source_ip: str | None, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(network) for network in networks)


def _note_use(key: ApiKey) -> None:
    """`last_used` becomes today, written only when it changes (as a session's touch is)."""
    today = clock.today()
    if key.last_used == today:
        return
    unchanged = (
        ApiKey.last_used.does_not_exist() if key.last_used is None else ApiKey.last_used == key.last_used
    )
    with contextlib.suppress(UpdateError):  # another call noted it first, or the key was revoked meanwhile
        key.update(actions=[ApiKey.last_used.set(today)], condition=ApiKey.id.exists() & unchanged)
