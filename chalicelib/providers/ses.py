"""Amazon SES v2 `SendEmail` with raw MIME: the company's `email_from` as the sender identity, and the
stack's configuration set, whose event destination reports deliveries, bounces and complaints."""

from __future__ import annotations

from email.headerregistry import Address

from chalicelib import aws
from chalicelib.providers.base import ProviderError, classify_aws
from chalicelib.providers.mail import EmailProvider, OutgoingEmail
from chalicelib.settings import get_settings

_RETRYABLE = {
    "TooManyRequestsException",
    "LimitExceededException",
    "InternalFailure",
    "ServiceUnavailable",
    "SendingPausedException",
    "Throttling",
}


class SesProvider(EmailProvider):
    name = "ses"

    def _send(self, outgoing: OutgoingEmail) -> str:
        answer = aws.client("sesv2").send_email(
            FromEmailAddress=str(Address(outgoing.sender_name or "", addr_spec=outgoing.sender)),
            Destination={"ToAddresses": [outgoing.to]},
            Content={"Raw": {"Data": outgoing.mime().as_bytes()}},
            ConfigurationSetName=get_settings().email_configuration_set,
        )
        return answer["MessageId"]

    def classify(self, error: Exception) -> ProviderError:
        return classify_aws(error, _RETRYABLE) or super().classify(error)
