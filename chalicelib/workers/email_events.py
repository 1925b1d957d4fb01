"""SES's events for the configuration set, through SNS: a message that cannot be understood is logged
and dropped (raising would only make Lambda retry what can never succeed)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.inbound.email_events import EmailEvent, apply
from chalicelib.log import logger


def handle(message: str) -> dict[str, Any]:
    """`{eventType, mail: {messageId, headers}, bounce: {bounceType, bouncedRecipients}, complaint: {…}}`;
    the `X-Colony-Reference` header names the email before its SES id is written."""
    event = parse(message)
    if event is None:
        return {"dropped": 1}
    return {"result": apply(event)}


def parse(message: str) -> EmailEvent | None:
    try:
        body = json.loads(message)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    kind, mail = body.get("eventType") or body.get("notificationType"), body.get("mail")
    if not isinstance(mail, dict) or not all(isinstance(v, str) and v for v in (kind, mail.get("messageId"))):
        logger.error("SES event not understood; dropped", body=message[:500])
        return None
    detail = body.get(kind.lower()) if isinstance(body.get(kind.lower()), dict) else {}
    listed = detail.get("bouncedRecipients") or detail.get("complainedRecipients") or []
    listed = listed if isinstance(listed, list) else []
    addresses = tuple(
        r["emailAddress"] for r in listed if isinstance(r, dict) and isinstance(r.get("emailAddress"), str)
    )
    headers = mail.get("headers") if isinstance(mail.get("headers"), list) else []
    reference = next(
        (
            h.get("value")
            for h in headers
            if isinstance(h, dict) and str(h.get("name", "")).lower() == "x-colony-reference"
        ),
        None,
    )
    diagnostic = next((r.get("diagnosticCode") for r in listed if isinstance(r, dict)), None)
    described = [detail.get("bounceType"), detail.get("bounceSubType"), detail.get("reason"), diagnostic]
    return EmailEvent(
        kind=kind,
        message_id=mail["messageId"],
        reference=reference if isinstance(reference, str) else None,
        addresses=addresses,
        permanent=detail.get("bounceType") == "Permanent",
        description=" ".join(str(part) for part in described if part),
    )
