"""AWS End User Messaging's SNS topics: two-way SMS (inbound) and delivery events (receipts).

A message that cannot be understood is logged and dropped: raising would only make Lambda retry what
can never succeed. Anything else that fails raises, so Lambda retries it.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.inbound import keywords, receipts
from chalicelib.log import logger


def handle_inbound(message: str) -> dict[str, Any]:
    """`{originationNumber, destinationNumber, messageBody, inboundMessageId}`: act for every company
    that sends from the number written to."""
    body = _parse(message, "originationNumber", "destinationNumber", "messageBody")
    if body is None:
        return {"dropped": 1}
    sms_in = keywords.InboundSms(
        originator=body["originationNumber"],
        destination=body["destinationNumber"],
        text=body["messageBody"],
        provider_id=body.get("inboundMessageId"),
    )
    outcomes = keywords.receive_at_number(sms_in)
    return {"outcomes": outcomes} if outcomes else {"dropped": 1}


def handle_simulated_reply(company: int, message: str) -> dict[str, Any]:
    """The simulator's reply for a test tenant, in the two-way SMS shape (`destinationNumber` may be null:
    the company is known)."""
    body = _parse(message, "originationNumber", "messageBody")
    if body is None:
        return {"dropped": 1}
    destination = body.get("destinationNumber")
    sms_in = keywords.InboundSms(
        originator=body["originationNumber"],
        destination=destination if isinstance(destination, str) else None,
        text=body["messageBody"],
        provider_id=body.get("inboundMessageId"),
    )
    return {"outcomes": {company: keywords.receive_in_test_tenant(company, sms_in)}}


def handle_event(message: str) -> dict[str, Any]:
    """`{eventType, isFinal, messageId, context: {reference}, messageStatusDescription}`."""
    body = _parse(message, "eventType", "messageId")
    if body is None:
        return {"dropped": 1}
    try:
        outcome = receipts.outcome_of(body["eventType"], bool(body.get("isFinal", True)))
    except receipts.UnknownStatus:
        logger.info("SMS event ignored", event_type=body["eventType"])
        return {"ignored": 1}
    context = body.get("context") if isinstance(body.get("context"), dict) else {}
    receipt = receipts.Receipt(
        outcome=outcome,
        provider_id=str(body["messageId"]),
        reference=context.get("reference") if isinstance(context.get("reference"), str) else None,
        error=receipts.failure_text(
            outcome, body["eventType"], str(body.get("messageStatusDescription") or "")
        ),
    )
    return {"result": receipts.apply(receipt, company=None)}


def _parse(message: str, *required: str) -> dict[str, Any] | None:
    try:
        body = json.loads(message)
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(not isinstance(body.get(name), str) for name in required):
        logger.error("SNS message not understood; dropped", body=message[:500], required=required)
        return None
    return body
