"""Where a company's callbacks may go: an https URL on the public internet (no SSRF into the VPC or the
metadata address); on this machine's stages, http to 127.0.0.1 too, for the embedded stack."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

LOCAL_HOSTS = ("127.0.0.1", "localhost")
METADATA = ipaddress.ip_address("169.254.169.254")
MAX_LENGTH = 2000
HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")  # urlsplit gives it lower case


class RefusedTarget(ValueError):
    """A URL callbacks may not be sent to, with the reason."""


def check_url(url: str, local: bool) -> str:
    """The URL, stripped, if callbacks may be sent to it; else RefusedTarget saying why. Outside `local`
    stages its host must resolve to public addresses only (checked again before each delivery)."""
    url = url.strip()
    if len(url) > MAX_LENGTH:
        raise RefusedTarget(f"must be at most {MAX_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedTarget("must be a URL, such as https://example.com/colony") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("must be an http or https URL, such as https://example.com/colony")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("must not carry credentials: the signature proves the sender")
    if parts.fragment:
        raise RefusedTarget("must not have a #fragment")
    host = parts.hostname
    if not _is_address(host) and not HOST_NAME.fullmatch(host):
        raise RefusedTarget("must have a host name of letters, digits, dots and hyphens (IDNA as xn--)")
    if local:
        if host not in LOCAL_HOSTS:
            raise RefusedTarget("must be on 127.0.0.1 or localhost on this stage")
        return url
    if parts.scheme != "https":
        raise RefusedTarget("must be https")
    check_public(host, port or 443)
    return url


def checked_address(host: str, port: int, local: bool) -> str:
    """The one address a delivery connects to: the host's, checked (public, outside `local` stages),
    IPv4 first."""
    addresses = sorted(resolve(host, port), key=lambda a: (":" in a, a))
    if not local:
        _all_public(host, addresses)
    return addresses[0]


def check_public(host: str, port: int) -> None:
    """Refuse a host that is, or resolves to, a private, loopback, link-local, reserved, multicast or
    metadata address (every address it resolves to must be public)."""
    _all_public(host, resolve(host, port))


def _all_public(host: str, addresses: list[str]) -> None:
    for address in addresses:
        if not _public(address):
            raise RefusedTarget(f"must not point to a private or reserved address ({host} is {address})")


def resolve(host: str, port: int) -> list[str]:
    """The addresses a host stands for (itself, when it is one)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RefusedTarget(f"has a host that does not resolve ({host})") from None
    return sorted({info[4][0] for info in found})


def _public(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address == METADATA:
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True
