"""The simulator: the gateway of every test tenant's SMS and email. It sends nothing; it scripts each
message's outcome by its destination (`rules/modes`) as the real gateways' events, queued for the
pipelines those events take, so receipts, stats, reports and callbacks run as they do for live sends."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib import queue_messages
from chalicelib.domain.rules import modes
from chalicelib.providers.base import Outgoing, Provider
from chalicelib.providers.mail import EmailProvider, OutgoingEmail

SMS_EVENTS, EMAIL_EVENTS, SMS_INBOUND = "sms-events", "email-events", "sms-inbound"
SOURCES = (SMS_EVENTS, EMAIL_EVENTS, SMS_INBOUND)


class SimulatorProvider(Provider):
    """SMS of one test tenant: delivered, failed as invalid, delivered late or answered with STOP."""

    name = "simulator"

    def __init__(self, company: int) -> None:
        self.company = company

    def _send(self, sms: Outgoing) -> str:
        message_id = f"simulated-{uuid.uuid4()}"
        if sms.to == modes.INVALID_NUMBER:
            self._event(SMS_EVENTS, _sms_event(message_id, sms, "TEXT_INVALID", "simulated invalid number"))
            return message_id
        delay = modes.LATE_SECONDS if sms.to == modes.LATE_NUMBER else 0
        self._event(SMS_EVENTS, _sms_event(message_id, sms, "TEXT_DELIVERED", ""), delay)
        if sms.to == modes.STOP_NUMBER:
            reply = {
                "originationNumber": sms.to,
                "destinationNumber": sms.sender,
                "messageBody": "STOP",
                "inboundMessageId": f"simulated-reply-{message_id}",
            }
            self._event(SMS_INBOUND, reply)
        return message_id

    def _event(self, source: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        event = queue_messages.SimulatedEvent(company=self.company, source=source, message=json.dumps(body))
        queue_messages.enqueue(event, delay_seconds)


class SimulatorEmailProvider(SimulatorProvider, EmailProvider):
    """Email of one test tenant: delivered, bounced (permanently) or complained about."""

    name = "simulator-email"
    channel = "email"

    def _send(self, outgoing: OutgoingEmail) -> str:  # type: ignore[override]
        message_id = f"simulated-{uuid.uuid4()}"
        address = outgoing.to.strip().lower()
        mail = {
            "messageId": message_id,
            "destination": [outgoing.to],
            "headers": [{"name": "X-Colony-Reference", "value": outgoing.reference}],
        }
        listed = [{"emailAddress": outgoing.to}]
        if address == modes.BOUNCE_ADDRESS:
            body = {
                "eventType": "Bounce",
                "mail": mail,
                "bounce": {
                    "bounceType": "Permanent",
                    "bounceSubType": "General",
                    "bouncedRecipients": listed,
                },
            }
        elif address == modes.COMPLAINT_ADDRESS:
            body = {"eventType": "Complaint", "mail": mail, "complaint": {"complainedRecipients": listed}}
        else:
            body = {"eventType": "Delivery", "mail": mail, "delivery": {"recipients": [outgoing.to]}}
        self._event(EMAIL_EVENTS, body)
        return message_id


def _sms_event(message_id: str, sms: Outgoing, event_type: str, description: str) -> dict[str, Any]:
    """A delivery event as End User Messaging's topic carries it."""
    return {
        "eventType": event_type,
        "isFinal": True,
        "messageId": message_id,
        "destinationPhoneNumber": sms.to,
        "context": {"reference": sms.reference},
        "messageStatusDescription": description,
    }
