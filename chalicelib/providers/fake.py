"""Gateways for tests: record every SMS (or email) and fail when a test scripts them to."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.providers.base import Provider
from chalicelib.providers.mail import EmailProvider


class FakeProvider(Provider):
    name = "fake"

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.attempts: list[Any] = []
        self.script: Callable[[Any, int], None] | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.sent.clear()
        self.attempts.clear()
        self.script = None

    def _send(self, sms: Any) -> str:
        with self._lock:
            self.attempts.append(sms)
            tries = sum(1 for a in self.attempts if a.reference == sms.reference)
        if self.script is not None:
            self.script(sms, tries)
        with self._lock:
            self.sent.append(sms)
        return f"fake-{uuid.uuid4()}"


class FakeEmailProvider(FakeProvider, EmailProvider):
    name = "fake-email"
    channel = "email"
