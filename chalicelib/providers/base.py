"""What every gateway shares: timing, logging and sorting failures into retryable and permanent."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from chalicelib.log import logger


@dataclass(frozen=True)
class Outgoing:
    """One SMS as a gateway needs it; `reference` names it for receipts: d<deployment>:<number> or m<id>."""

    to: str
    sender: str | None
    text: str
    segments: int
    marketing: bool
    reference: str
    deployment: int | None = None


class ProviderError(Exception):
    retryable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Retryable(ProviderError):
    """Throttling, a server error, a timeout: the same SMS may be tried again later."""

    retryable = True


class Permanent(ProviderError):
    """An invalid or blocked number and the like: trying again cannot help; the SMS fails."""


def classify_aws(error: Exception, retryable: set[str]) -> ProviderError | None:
    """An AWS gateway's error sorted: throttling, server errors and timeouts may be retried, any other
    refusal is permanent; None for an error that did not come from AWS."""
    if isinstance(error, ClientError):
        code = error.response["Error"]["Code"]
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        message = error.response["Error"].get("Message", "")
        if code in retryable or status >= 500:
            return Retryable(code, message)
        return Permanent(code, message)
    if isinstance(error, (ConnectionError, ReadTimeoutError)):
        return Retryable("timeout", str(error))
    return None


class Provider(ABC):
    """An SMS gateway; the base of every channel's gateways (`mail.EmailProvider` for email)."""

    name = "provider"
    channel = "sms"

    def send(self, outgoing: Any) -> str:
        """Send one SMS (or email); returns the gateway's id for it, or raises Retryable or Permanent."""
        started = time.monotonic()
        try:
            provider_id = self._send(outgoing)
        except ProviderError as error:
            self._log(outgoing, started, outcome=error.code)
            raise
        except Exception as error:
            classified = self.classify(error)
            self._log(outgoing, started, outcome=classified.code)
            raise classified from error
        self._log(outgoing, started, outcome="sent")
        return provider_id

    @abstractmethod
    def _send(self, outgoing: Any) -> str: ...

    def classify(self, error: Exception) -> ProviderError:
        """An unexpected failure is retryable: it says nothing about the number or address."""
        return Retryable("error", f"{type(error).__name__}: {error}")

    def _log(self, outgoing: Any, started: float, outcome: str) -> None:
        logger.info(
            self.channel,
            provider=self.name,
            outcome=outcome,
            reference=outgoing.reference,
            segments=getattr(outgoing, "segments", None),
            ms=round((time.monotonic() - started) * 1000, 1),
        )
