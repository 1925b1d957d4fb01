"""Requests to the embedded AWS pass together; a snapshot of its state waits for those in progress and
holds new ones back, so it never sees a request half-applied in any service.

A long poll (SQS ReceiveMessage with WaitTimeSeconds) counts as in progress until it answers: the pump
waits a second at most, so a snapshot does too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

# Actions (by their X-Amz-Target) that change nothing worth a snapshot. A ReceiveMessage does mark its
# messages in flight, but if that is lost they only come back sooner, as after any consumer's crash.
READ_ACTIONS = frozenset(
    {
        "BatchGetItem",
        "DescribeTable",
        "GetItem",
        "ListTables",
        "Query",
        "Scan",
        "TransactGetItems",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListQueues",
        "ReceiveMessage",
    }
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Gate:
    """A readers-writer lock that prefers the writer: requests share it, a snapshot has it alone."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._waiting = 0
        self._held = False
        self._closed = False

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not (self._held or self._waiting or self._closed))
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._waiting += 1
            self._condition.wait_for(lambda: not (self._held or self._active))
            self._waiting -= 1
            self._held = True
        try:
            yield
        finally:
            with self._condition:
                self._held = False
                self._condition.notify_all()

    def close(self) -> None:
        """Hold every later request back for good (the last snapshot has been taken)."""
        with self._condition:
            self._closed = True


class GatedApp:
    """A WSGI app that runs each request through the gate and notes whether one may have changed state."""

    def __init__(self, app: Callable[..., Iterable[bytes]], gate: Gate) -> None:
        self.app = app
        self.gate = gate
        self.changed = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.gate.request():
            if not _reads_only(environ):
                self.changed = True
            return list(self.app(environ, start_response))


def _reads_only(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD", "GET") in READ_METHODS:
        return True
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return target.rpartition(".")[2] in READ_ACTIONS
