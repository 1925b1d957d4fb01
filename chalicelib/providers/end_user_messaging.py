"""AWS End User Messaging SMS (`pinpoint-sms-voice-v2` SendTextMessage): one recipient a call, the
message type PROMOTIONAL for marketing else TRANSACTIONAL, and a Context naming what it belongs to
(receipts carry it back)."""

from __future__ import annotations

from chalicelib import aws
from chalicelib.providers.base import Outgoing, Provider, ProviderError, classify_aws

_RETRYABLE = {
    "ThrottlingException",
    "InternalServerException",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
}


class EndUserMessagingProvider(Provider):
    name = "end-user-messaging"

    def _send(self, sms: Outgoing) -> str:
        request = {
            "DestinationPhoneNumber": f"+{sms.to}",
            "MessageBody": sms.text,
            "MessageType": "PROMOTIONAL" if sms.marketing else "TRANSACTIONAL",
            "Context": {"reference": sms.reference},
        }
        if sms.sender:
            request["OriginationIdentity"] = sms.sender
        return aws.client("pinpoint-sms-voice-v2").send_text_message(**request)["MessageId"]

    def classify(self, error: Exception) -> ProviderError:
        return classify_aws(error, _RETRYABLE) or super().classify(error)
