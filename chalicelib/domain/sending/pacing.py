"""Pacing: one worker keeps under its share of a sender's messages-per-second limit."""

from __future__ import annotations

import time

DEFAULT_RATE = 20


class Pacer:
    """Keeps one worker under its share of a sender's messages-per-second limit."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + self.interval
