"""Delivering one callback: its attempt record (made once per event), the signed POST, and what came of
it. A slow or failing endpoint costs only this worker's time: the sending workers never wait on it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other: never followed (it could lead inside the network)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects)


def deliver(message: queue_messages.CallbackEvent, delivery: str, receive_count: int, last: int) -> bool:
    """POST the event to its company's URL; True when nothing is left to do (delivered, a duplicate),
    False when the queue should bring it back later (or, after the `last` attempt, dead-letter it)."""
    company = Company.get_or_none(message.company)
    attempt = _record(message, delivery, company)
    if attempt is None:
        return True
    url = company.callback_url if company is not None else None
    if not url:
        records.record_try(attempt, clock.now(), FAILED, None, "callbacks were turned off")
        return True
    code, error = post(url, attempt.payload, secret.signing_secrets(company))
    delivered = code is not None and 200 <= code < 300
    status = DELIVERED if delivered else FAILED if receive_count >= last else PENDING
    records.record_try(attempt, clock.now(), status, code, error)
    logger.info("callback", company=message.company, attempt_id=attempt.id, status_code=code, status=status)
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
    """POST the signed payload; the status code, or None and why there was none. The host is checked
    again first (outside this machine's stages), since what it resolves to may have changed."""
    settings = get_settings()
    parts = urlsplit(url)
    try:
        if not settings.is_local:
            targets.check_public(parts.hostname or "", parts.port or 443)
    except targets.RefusedTarget as refused:
        return None, f"refused: {refused}"
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Colony-Event-Id": str(payload.get("id")),
        signature.HEADER: signature.sign(body, int(clock.now().timestamp()), secrets),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only: targets.check_url)
    try:
        with _OPENER.open(request, timeout=settings.callback_timeout_seconds) as answer:
            return answer.status, None
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, f"{type(error).__name__}: {reason}"[:300]


def replay(company: int, attempt: CallbackAttempt) -> None:
    """Queue the record's event again now (`POST /callbacks/{id}/retry`)."""
    queue_messages.enqueue(
        queue_messages.CallbackEvent(company=company, event=attempt.payload, replay=attempt.id)
    )


def is_live(attempt: CallbackAttempt | None) -> bool:
    """Whether a record exists still: one past its TTL is absent, even before DynamoDB removes it."""
    return attempt is not None and attempt.expires_at > clock.now().timestamp()
