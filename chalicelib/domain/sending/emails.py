"""An email as it goes out: from the company's `email_from`, a marketing one with its unsubscribe link
in the footer and in the one-click headers; a deployment's email is its approved subject, text and HTML
rendered for one recipient."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.contacts.unsubscribes import link_for, with_unsubscribe
from chalicelib.domain.rules.email_content import escaped, one_line, sanitised_html
from chalicelib.domain.rules.templates import Template, compile_template
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from chalicelib.providers.mail import OutgoingEmail
from chalicelib.queue_messages import SendChunk


@dataclass(frozen=True)
class EmailContent:
    """A deployment's email as approved (its chunks carry it), split for rendering, and what each costs."""

    subject: Template
    text: Template
    html: Template | None
    credits: int


def email_content(chunk: SendChunk) -> EmailContent:
    return EmailContent(
        subject=compile_template(chunk.subject),
        text=compile_template(chunk.message),
        html=compile_template(chunk.html) if chunk.html else None,
        credits=chunk.email_credits,
    )


def deployment_email(
    company: Company, content: EmailContent, values: dict[str, Any], marketing: bool, reference: str
) -> OutgoingEmail:
    """One recipient's email: `values` are what its placeholders read (escaped into the HTML part, which
    is sanitised again once rendered, so no value can smuggle in a `javascript:` link)."""
    html = sanitised_html(content.html.render(escaped(values))) if content.html else None
    return outgoing_email(
        company,
        to=values["email"],
        subject=content.subject.render(values),
        text=content.text.render(values),
        html=html,
        marketing=marketing,
        reference=reference,
    )


def message_email(company: Company, message: Message, reference: str) -> OutgoingEmail:
    return outgoing_email(
        company,
        to=message.destination,
        subject=message.subject or "",
        text=message.text,
        html=message.html,
        marketing=message.marketing,
        reference=reference,
        sender=message.sender,
    )


def outgoing_email(
    company: Company,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    marketing: bool,
    reference: str,
    sender: str | None = None,
) -> OutgoingEmail:
    name, address = parseaddr(sender or company.email_from or "")
    link = None
    if marketing:
        link = link_for(company, to)
        text, html = with_unsubscribe(text, html, link)
    return OutgoingEmail(
        to=to,
        sender=address,
        sender_name=name or None,
        reply_to=company.email_reply_to,
        subject=one_line(subject),
        text=text,
        html=html,
        marketing=marketing,
        reference=reference,
        unsubscribe_url=link,
        date=clock.now(),
    )
