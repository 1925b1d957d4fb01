"""Where callbacks may go in AWS: https to public addresses only, whatever a name resolves to."""

import dataclasses
import socket

import pytest

from chalicelib.domain.callbacks import delivery, targets
from chalicelib.settings import get_settings


@pytest.fixture
def resolves_to(monkeypatch):
    """Make every name resolve to the given addresses (no DNS is asked)."""

    def set_to(*addresses):
        def fake(host, port, *args, **kwargs):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

        monkeypatch.setattr(targets.socket, "getaddrinfo", fake)

    return set_to


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ],
)
def test_a_host_resolving_to_a_private_or_reserved_address_is_refused(resolves_to, address):
    resolves_to("93.184.216.34", address)  # one bad address among good ones is enough
    with pytest.raises(targets.RefusedTarget, match="private or reserved"):
        targets.check_url("https://hooks.example.com/colony", local=False)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.example.com/colony", "must be https"),
        ("https://169.254.169.254/latest/meta-data", "private or reserved"),
        ("https://[::1]:8443/x", "private or reserved"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("gopher://hooks.example.com/", "http or https"),
    ],
)
def test_aws_stages_refuse_what_could_reach_inside(resolves_to, url, reason):
    resolves_to("93.184.216.34")
    with pytest.raises(targets.RefusedTarget, match=reason):
        targets.check_url(url, local=False)


def test_a_public_https_url_is_accepted(resolves_to):
    resolves_to("93.184.216.34")
    assert (
        targets.check_url(" https://hooks.example.com/colony ", local=False)
        == "https://hooks.example.com/colony"
    )


def test_a_name_that_turned_private_since_is_refused_at_delivery_without_connecting(resolves_to, monkeypatch):
    monkeypatch.setattr(delivery, "get_settings", lambda: dataclasses.replace(get_settings(), stage="prod"))
    resolves_to("10.1.2.3")
    code, error = delivery.post("https://hooks.example.com/colony", {"id": "evt_1"}, ["whsec_x"])
    assert code is None and error.startswith("refused:") and "10.1.2.3" in error
