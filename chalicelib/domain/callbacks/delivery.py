"""Delivering one callback: its attempt record (made once per event), the signed POST, and what came of
it. A slow or failing endpoint costs only this worker's time: the sending workers never wait on it."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.callbacks import secret, signature, targets
from chalicelib.log import logger
from chalicelib.models import callbacks as records
from chalicelib.models.callbacks import CallbackAttempt
from chalicelib.models.companies import Company
from chalicelib.settings import get_settings

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
KEPT = timedelta(days=30)
USER_AGENT = "Colony-Callbacks/1"


@dataclass(frozen=True)
class Ready:
    """An event to POST: its attempt record, where it goes and the secrets that sign it."""

    attempt: CallbackAttempt
    url: str
    secrets: list[str]


def deliver(message: queue_messages.CallbackEvent, delivery: str, receive_count: int, last: int) -> bool:
    """POST the event to its company's URL; True when nothing is left to do (delivered, a duplicate),
    False when the queue should bring it back later (or, after the `last` attempt, dead-letter it)."""
    ready = prepare(message, delivery)
    if isinstance(ready, bool):
        return ready
    return conclude(ready, *post(ready.url, ready.attempt.payload, ready.secrets), receive_count, last)


def prepare(message: queue_messages.CallbackEvent, delivery: str) -> Ready | bool:
    """The event's attempt record and target, or True when there is nothing to POST (a duplicate, or
    callbacks turned off: recorded so)."""
    company = Company.get_or_none(message.company)
    attempt = _record(message, delivery, company)
    if attempt is None:
        return True
    url = company.callback_url if company is not None else None
    if not url:
        records.record_try(attempt, clock.now(), FAILED, None, "callbacks were turned off")
        return True
    return Ready(attempt, url, secret.signing_secrets(company))


def conclude(ready: Ready, code: int | None, error: str | None, receive_count: int, last: int) -> bool:
    """Record what the POST came to; True when it was delivered."""
    delivered = code is not None and 200 <= code < 300
    status = DELIVERED if delivered else FAILED if receive_count >= last else PENDING
    records.record_try(ready.attempt, clock.now(), status, code, error, ready.url)
    logger.info("callback", attempt_id=ready.attempt.id, status_code=code, status=status)
    return delivered


def _record(
    message: queue_messages.CallbackEvent, delivery: str, company: Company | None
) -> CallbackAttempt | None:
    """The attempt record this delivery works on; None when there is nothing to do: the event was
    emitted twice (another SQS message carries it), or this message delivered it already."""
    if message.replay:
        found = CallbackAttempt.get_or_none(message.company, message.replay, consistent_read=True)
        if found is None or (found.delivery == delivery and found.status != PENDING):
            return None
        if found.delivery != delivery:
            records.take_over(found, delivery, clock.now())
        return found
    now = clock.now()
    created = records.create_once(
        CallbackAttempt(
            company=message.company,
            event_id=str(message.event.get("id")),
            type=str(message.event.get("type")),
            payload=message.event,
            url=(company.callback_url if company is not None else None) or "",
            delivery=delivery,
            expires_at=int((now + KEPT).timestamp()),
            date_created=now,
            date_updated=now,
        )
    )
    if created is not None:
        return created
    found = records.of_event(message.company, str(message.event.get("id")))
    if found is None or found.delivery != delivery or found.status != PENDING:
        return None
    return found


def post(url: str, payload: dict[str, Any], secrets: list[str]) -> tuple[int | None, str | None]:
    """POST the signed payload; the status code, or None and why there was none. The host is resolved
    and checked again first (outside this machine's stages) and the connection goes to the very address
    checked, so a name that changes meanwhile cannot lead inside; the whole exchange has one deadline."""
    settings = get_settings()
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = targets.checked_address(host, port, local=settings.is_local)
    except targets.RefusedTarget as refused:
        return None, f"refused: {refused}"
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Colony-Event-Id": str(payload.get("id")),
        signature.HEADER: signature.sign(body, int(clock.now().timestamp()), secrets),
    }
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _exchange(
        _connection(parts.scheme, host, port, address, settings.callback_timeout_seconds),
        path,
        body,
        headers,
        settings.callback_timeout_seconds,
    )


def _connection(
    scheme: str, host: str, port: int, address: str, timeout: float
) -> http.client.HTTPConnection:
    """A connection to `host` (its name in the Host header and, for https, in SNI and the certificate
    check) that connects only to `address`."""
    if scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection._create_connection = lambda *_: _connect(address, port, timeout)  # type: ignore[attr-defined]
    return connection


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    """A socket to exactly `address` (no name is looked up again)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except OSError:
        sock.close()
        raise
    return sock


def _exchange(
    connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str], deadline: float
) -> tuple[int | None, str | None]:
    """Send the request and read the answer's status line within `deadline` seconds in all (an endpoint
    that trickles its answer is cut off); a redirect is an answer like any other, never followed."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            connection.request("POST", path, body=body, headers=headers)
            outcome["code"] = connection.getresponse().status
        except BaseException as error:  # whatever ended this try (in its own thread) is its outcome
            outcome["error"] = f"{type(error).__name__}: {error}"[:300]

    exchange = threading.Thread(target=run, daemon=True)
    exchange.start()
    exchange.join(deadline)
    if exchange.is_alive():
        _cut(connection)
        return None, f"TimeoutError: timed out (no answer within {deadline:g} s)"
    connection.close()
    return outcome.get("code"), outcome.get("error")


def _cut(connection: http.client.HTTPConnection) -> None:
    """End an exchange that ran past its deadline (its thread then fails and ends)."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    connection.close()


def replay(company: int, attempt: CallbackAttempt) -> None:
    """Queue the record's event again now (`POST /callbacks/{id}/retry`)."""
    queue_messages.enqueue(
        queue_messages.CallbackEvent(company=company, event=attempt.payload, replay=attempt.id)
    )


def is_live(attempt: CallbackAttempt | None) -> bool:
    """Whether a record exists still: one past its TTL is absent, even before DynamoDB removes it."""
    return attempt is not None and attempt.expires_at > clock.now().timestamp()
