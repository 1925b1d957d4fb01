"""What a claimed recipient or API message goes out as: its SMS or its email, rendered from what was
approved (a deployment's chunk) or recorded (an API message)."""

from __future__ import annotations

from chalicelib import queue_messages
from chalicelib.domain.rules.channels import EMAIL, SMS
from chalicelib.domain.rules.destinations import unreachable_reason
from chalicelib.domain.rules.gsm_substitution import substituted
from chalicelib.domain.rules.person_spellings import is_erased
from chalicelib.domain.rules.segments import cost
from chalicelib.domain.rules.templates import Template, priced_text
from chalicelib.domain.sending.emails import EmailContent, deployment_email, message_email
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from chalicelib.providers import Outgoing
from chalicelib.providers.mail import OutgoingEmail

ERASED_ERROR = "erased: the person was erased (POPIA) before it was sent"


def channel_of(item: Message | dict) -> str:
    """The channel of an API message or of a chunk's recipient."""
    channel = item.get("channel") if isinstance(item, dict) else item.channel
    return channel or SMS


def unreachable(recipient: dict) -> str | None:
    """Why a chunk's recipient cannot be sent on its channel (`no_number`, `no_address`, or erased since
    the fan-out), or None."""
    if is_erased(recipient["msisdn"]) or is_erased(recipient.get("email") or ""):
        return ERASED_ERROR
    return unreachable_reason(recipient.get("channel"), recipient["msisdn"], recipient.get("email"))


def erased(message: Message) -> str | None:
    """Why an API message cannot be sent because its person was erased since it was queued, or None."""
    return ERASED_ERROR if is_erased(message.destination) else None


def for_recipient(
    chunk: queue_messages.SendChunk,
    company: Company,
    template: Template,
    content: EmailContent | None,
    recipient: dict,
) -> Outgoing | OutgoingEmail:
    reference = f"d{chunk.deployment}:{recipient['msisdn']}"
    if content is not None and channel_of(recipient) == EMAIL:
        values = {**recipient, "msisdn": recipient.get("number")}
        return deployment_email(company, content, values, chunk.marketing, reference)
    text = priced_text(recipient.get("message") or template.render(recipient), chunk.optout_text)
    if chunk.gsm_substitute:
        text = substituted(text)
    return Outgoing(
        to=recipient["msisdn"],
        sender=chunk.sender or None,
        text=text,
        segments=cost(text).segments,
        marketing=chunk.marketing,
        reference=reference,
        deployment=chunk.deployment,
    )


def for_message(message: Message, company: Company) -> Outgoing | OutgoingEmail:
    reference = f"m{message.company}:{message.id}"
    if channel_of(message) == EMAIL:
        return message_email(company, message, reference)
    return Outgoing(
        to=message.destination,
        sender=message.sender,
        text=message.text,
        segments=message.segments,
        marketing=message.marketing,
        reference=reference,
    )
