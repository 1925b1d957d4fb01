"""An email as it goes out: from the company's `email_from`, a marketing one with its unsubscribe link
in the footer and in the one-click headers."""

from __future__ import annotations

from email.utils import parseaddr

from chalicelib.domain.contacts.unsubscribes import link_for, with_unsubscribe
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from chalicelib.providers.mail import OutgoingEmail


def outgoing_email(company: Company, message: Message, reference: str) -> OutgoingEmail:
    name, address = parseaddr(message.sender or company.email_from or "")
    text, html, link = message.text, message.html, None
    if message.marketing:
        link = link_for(company, message.destination)
        text, html = with_unsubscribe(text, html, link)
    return OutgoingEmail(
        to=message.destination,
        sender=address,
        sender_name=name or None,
        reply_to=company.email_reply_to,
        subject=message.subject or "",
        text=text,
        html=html,
        marketing=message.marketing,
        reference=reference,
        unsubscribe_url=link,
    )
