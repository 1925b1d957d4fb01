"""Email through the API (`POST /emails/send`): one address, a subject, a text part and an optional HTML
part (sanitised on the way in), priced at the company's `email_credits` and paid for in the transaction
that records it, then sent by the same claims as an API SMS."""

from __future__ import annotations

from typing import Any

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.campaigns import check_campaign
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound
from chalicelib.domain.idempotency.keys import reserved_ids
from chalicelib.domain.rules.addresses import InvalidAddress, normalise_address
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.rules.email_content import (
    MAX_BYTES,
    MAX_HTML,
    MAX_TEXT,
    encodable,
    sanitised_html,
    subject_problem,
)
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.domain.sending.refusals import already_paid, pay_for_message
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message
from chalicelib.models.pagination import Page, PageRequest, paginate


def send_email(caller: Caller, data: dict[str, Any]) -> Message:
    """Record one email and take its credits (402 if short), then queue it; 409 if the company has
    no `email_from` yet."""
    company = get_company(caller)
    if not company.email_from:
        raise Conflict(
            "Set the company's email_from (PATCH /company) before sending email.", code="email_not_set_up"
        )
    email = _email(caller, company, data, reserved_ids("message")[0])
    paid = already_paid(email)
    if paid is not None:
        return paid
    queue_messages.enqueue(queue_messages.SendMessages(company=caller.company, ids=[email.id]))
    pay_for_message(email, company)
    return email


def get_email(caller: Caller, email_id: int) -> Message:
    found = Message.get_or_none(caller.company, email_id)
    if found is None or found.channel != EMAIL:
        raise NotFound(f"There is no email {email_id}.")
    return found


def list_emails(caller: Caller, page: PageRequest) -> Page:
    """The company's API emails, newest first."""
    emails_only = Message.channel == EMAIL
    return paginate(Message, caller.company, page, filter_condition=emails_only, scan_index_forward=False)


def _email(caller: Caller, company: Company, data: dict[str, Any], email_id: int) -> Message:
    problems: dict[str, list[str]] = {}
    destination = ""
    try:
        destination = normalise_address(data.get("destination"), simulated=caller.test)
    except InvalidAddress as error:
        problems["destination"] = [error.reason]
    subject = (data.get("subject") or "").strip()
    problem = subject_problem(subject)
    if problem:
        problems["subject"] = [problem]
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        problems["message"] = ["is required (the text part every email carries)"]
    elif len(text) > MAX_TEXT:
        problems["message"] = [f"must be at most {MAX_TEXT} characters"]
    html = data.get("html")
    if html is not None and len(html) > MAX_HTML:
        problems["html"] = [f"must be at most {MAX_HTML} characters"]
    if not problems:
        html = sanitised_html(html) if html else None
        size = sum(len(part.encode("utf-8", "replace")) for part in (subject, text, html or ""))
        if size > MAX_BYTES:
            problems["message"] = [f"the subject, text and HTML must be at most {MAX_BYTES:,} bytes together"]
        for name, part in (("subject", subject), ("message", text), ("html", html or "")):
            if not encodable(part):
                problems[name] = ["must be valid Unicode text (it holds a lone surrogate)"]
    if problems:
        raise InvalidInput("; ".join(f"{k} {v[0]}" for k, v in problems.items()), fields=problems)
    return Message(
        company=caller.company,
        id=email_id,
        channel=EMAIL,
        destination=destination,
        subject=subject,
        text=text,
        html=html,
        status=Delivery.QUEUED,
        segments=0,
        encoding="utf-8",
        credits=company.email_credits,
        marketing=bool(data.get("marketing", False)),
        campaign=check_campaign(caller, data.get("campaign_pk"), "campaign_pk"),
        sender=company.email_from,
        date_created=clock.now(),
    )
