"""Why the sender stops a chunk or a batch before its end (the worker hands it back to SQS)."""

from __future__ import annotations


class Stopped(Exception):
    """The deployment was paused or cancelled while its group was being sent."""


class RetryLater(Exception):
    """The gateway kept failing with retryable errors: unsent recipients were released for a retry."""

    soon = False  # the first retry comes in seconds, not the queue's usual back-off


class NotWrittenYet(RetryLater):
    """API messages queued an instant before the request that pays for them wrote them (by design)."""

    soon = True


class Booked(Exception):
    """The sender's timeline is booked further ahead than this invocation lives: unsent recipients were
    released, and what is left goes back on the queue to start when its turn comes."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the sender is booked for {seconds:.0f} s")
        self.delay = int(min(900, max(1, seconds)))  # SQS delays at most 15 minutes
