"""AWS End User Messaging SMS (`pinpoint-sms-voice-v2` SendTextMessage): one recipient a call, the
message type PROMOTIONAL for marketing else TRANSACTIONAL, and a Context naming what it belongs to
(receipts carry it back)."""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from chalicelib import aws
from chalicelib.providers.base import Outgoing, Permanent, Provider, ProviderError, Retryable

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
        if isinstance(error, ClientError):
            code = error.response["Error"]["Code"]
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            message = error.response["Error"].get("Message", "")
            if code in _RETRYABLE or status >= 500:
                return Retryable(code, message)
            return Permanent(code, message)
        if isinstance(error, (ConnectionError, ReadTimeoutError)):
            return Retryable("timeout", str(error))
        return super().classify(error)
