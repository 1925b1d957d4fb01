"""Gateways behind one base per channel (`base.Provider` for SMS, `mail.EmailProvider` for email);
`provider()` and `email_provider()` give the ones the stage uses, `simulators()` a test tenant's."""

from __future__ import annotations

from chalicelib.providers.base import Outgoing, Permanent, Provider, ProviderError, Retryable
from chalicelib.providers.mail import EmailProvider, OutgoingEmail
from chalicelib.settings import get_settings

__all__ = [
    "EmailProvider",
    "Outgoing",
    "OutgoingEmail",
    "Permanent",
    "Provider",
    "ProviderError",
    "Retryable",
    "email_provider",
    "provider",
    "simulators",
]

_instances: dict[str, Provider] = {}
_email_instances: dict[str, EmailProvider] = {}


def provider() -> Provider:
    """The gateway the settings name: outbox (embedded stack), fake (tests), end-user-messaging, sns."""
    name = get_settings().provider
    if name not in _instances:
        if name == "outbox":
            from chalicelib.providers.outbox import OutboxProvider as chosen
        elif name == "fake":
            from chalicelib.providers.fake import FakeProvider as chosen
        elif name == "sns":
            from chalicelib.providers.sns import SnsProvider as chosen
        else:
            from chalicelib.providers.end_user_messaging import EndUserMessagingProvider as chosen
        _instances[name] = chosen()
    return _instances[name]


def simulators(company: int) -> tuple[Provider, EmailProvider]:
    """The SMS and email simulator of a test tenant: whatever the stage's gateways, nothing is sent."""
    from chalicelib.providers.simulator import SimulatorEmailProvider, SimulatorProvider

    return SimulatorProvider(company), SimulatorEmailProvider(company)


def email_provider() -> EmailProvider:
    """The email gateway the settings name: outbox (embedded stack), fake (tests), ses."""
    name = get_settings().email_provider
    if name not in _email_instances:
        if name == "outbox":
            from chalicelib.providers.mail_outbox import MailOutboxProvider as chosen
        elif name == "fake":
            from chalicelib.providers.fake import FakeEmailProvider as chosen
        else:
            from chalicelib.providers.ses import SesProvider as chosen
        _email_instances[name] = chosen()
    return _email_instances[name]
