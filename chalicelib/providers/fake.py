"""A gateway for tests: records every SMS and fails when a test scripts it to."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from chalicelib.providers.base import Outgoing, Provider


class FakeProvider(Provider):
    name = "fake"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.attempts: list[Outgoing] = []
        self.script: Callable[[Outgoing, int], None] | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.sent.clear()
        self.attempts.clear()
        self.script = None

    def _send(self, sms: Outgoing) -> str:
        with self._lock:
            self.attempts.append(sms)
            tries = sum(1 for a in self.attempts if a.reference == sms.reference)
        if self.script is not None:
            self.script(sms, tries)
        with self._lock:
            self.sent.append(sms)
        return f"fake-{uuid.uuid4()}"
