"""Email through the API (`POST /emails/send`, `GET /emails/{id}`) and the public one-click unsubscribe
link every marketing email carries (`GET` shows the page, `POST` unsubscribes)."""

from __future__ import annotations

import html

from chalice import Blueprint, Response
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import HTML, PAGED
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.clock import iso
from chalicelib.domain.contacts import unsubscribes
from chalicelib.domain.rules import email_content
from chalicelib.domain.sending import api_emails, api_messages
from chalicelib.models.deployments import Message

bp = Blueprint(__name__)

SEND = Schema(
    fields={
        "destination": Field(str, required=True, max_length=320),
        "subject": Field(str, required=True, max_length=email_content.MAX_SUBJECT),
        "message": Field(str, required=True, max_length=email_content.MAX_TEXT),
        "html": Field(str, nullable=True, max_length=email_content.MAX_HTML),
        "campaign_pk": Field(int, nullable=True),
        "marketing": Field(bool),
    },
    read_only=("id", "status", "credits"),
)
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json", "text/plain")


class EmailBody(TypedDict):
    id: int
    destination: str
    subject: str | None
    status: str
    credits: int
    marketing: bool
    campaign_pk: int | None
    provider_id: str | None
    error: str | None
    date_created: Timestamp
    date_sent: Timestamp | None
    date_delivered: Timestamp | None


def render_email(email: Message) -> EmailBody:
    return {
        "id": email.id,
        "destination": email.destination,
        "subject": email.subject,
        "status": email.status,
        "credits": api_messages.credits_kept(email),
        "marketing": email.marketing,
        "campaign_pk": email.campaign,
        "provider_id": email.provider_id,
        "error": email.error,
        "date_created": iso(email.date_created),
        "date_sent": iso(email.date_sent),
        "date_delivered": iso(email.date_delivered),
    }


@endpoint(bp, "/emails/send", methods=("POST",), status=201, body=SEND, errors=(402,), resumable=True)
def send_email(call: Call) -> EmailBody:
    """One email: 201 with its cost once the credits are taken (402 if short); a marketing one goes
    out only in permitted hours, never to an unsubscribed address, with its unsubscribe link."""
    return render_email(api_emails.send_email(call.caller, call.body()))


@endpoint(bp, "/emails/{email_id}")
def get_email(call: Call, email_id: str) -> EmailBody:
    return render_email(api_emails.get_email(call.caller, object_id(email_id, "email")))


@endpoint(bp, "/emails", query=PAGED)
def list_emails(call: Call) -> Page[EmailBody]:
    """The company's API emails, newest first."""
    page = api_emails.list_emails(call.caller, call.page())
    return {"results": [render_email(e) for e in page.items], "next": page.next}


@endpoint(bp, "/unsubscribe/{token}", public=True, responses={200: HTML})
def unsubscribe_page(call: Call, token: str) -> Response:
    """The page the link opens: which address, and a button that unsubscribes it (a GET changes
    nothing, so a mail scanner that follows links unsubscribes nobody)."""
    address = html.escape(unsubscribes.address_of(token))
    return _page(
        "Unsubscribe",
        f"<p>Stop marketing email to <b>{address}</b>?</p>"
        '<form method="post"><button type="submit">Unsubscribe</button></form>',
    )


@endpoint(
    bp, "/unsubscribe/{token}", methods=("POST",), public=True, content_types=FORMS, responses={200: HTML}
)
def unsubscribe(call: Call, token: str) -> Response:
    """One click (RFC 8058 `List-Unsubscribe=One-Click`, or the page's button): the address is
    opted out of the company's marketing email; a second click changes nothing."""
    recorded = unsubscribes.unsubscribe(token)
    address = html.escape(recorded.optout.originator)
    return _page("Unsubscribed", f"<p><b>{address}</b> will get no more marketing email from us.</p>")


def _page(title: str, body: str) -> Response:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width"></head>'
        '<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">'
        f"<h1>{title}</h1>{body}</body></html>"
    )
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
