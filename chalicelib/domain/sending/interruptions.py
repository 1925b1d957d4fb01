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
