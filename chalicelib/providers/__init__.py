"""SMS gateways behind one interface (`base.Provider`); `provider()` gives the one the stage uses."""

from __future__ import annotations

from chalicelib.providers.base import Outgoing, Permanent, Provider, ProviderError, Retryable
from chalicelib.settings import get_settings

__all__ = ["Outgoing", "Permanent", "Provider", "ProviderError", "Retryable", "provider"]

_instances: dict[str, Provider] = {}


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
