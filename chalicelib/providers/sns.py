"""Amazon SNS direct SMS publishing (the older AWS route, still common)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.providers.base import Outgoing, Permanent, Provider, ProviderError, Retryable


class SnsProvider(Provider):
    name = "sns"

    def _send(self, sms: Outgoing) -> str:
        attributes = {
            "AWS.SNS.SMS.SMSType": {
                "DataType": "String",
                "StringValue": "Promotional" if sms.marketing else "Transactional",
            }
        }
        if sms.sender and not sms.sender.isdigit():
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sms.sender}
        answer = aws.client("sns").publish(
            PhoneNumber=f"+{sms.to}", Message=sms.text, MessageAttributes=attributes
        )
        return answer["MessageId"]

    def classify(self, error: Exception) -> ProviderError:
        if isinstance(error, ClientError):
            code = error.response["Error"]["Code"]
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            if code in ("Throttling", "ThrottlingException", "InternalError") or status >= 500:
                return Retryable(code, error.response["Error"].get("Message", ""))
            return Permanent(code, error.response["Error"].get("Message", ""))
        return super().classify(error)
