from typing import NotRequired

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint
from chalicelib.api.schema import Field, Schema
from chalicelib.api.shapes import Timestamp
from chalicelib.domain import daily_credit_limit
from chalicelib.domain.accounts import companies, sender_numbers
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.callbacks import secret
from chalicelib.domain.clock import iso
from chalicelib.domain.rules.retention import FILE_RETENTION_DAYS
from chalicelib.models.companies import Company

bp = Blueprint(__name__)

COMPANY = Schema(
    fields={
        "name": Field(str, max_length=100),
        "default_region": Field(str, max_length=2),
        "timezone": Field(str, max_length=64),
        "sender_id": Field(str, nullable=True, max_length=15),
        "optout_text": Field(str, max_length=100),
        "quiet_hours": Field(bool),
        "require_second_approver": Field(bool),
        "send_rate": Field(int),
        "optout_scope": Field(str, choices=companies.OPTOUT_SCOPES),
        "keyword_replies": Field(bool),
        "stop_reply": Field(str, max_length=160),
        "start_reply": Field(str, max_length=160),
        "email_from": Field(str, nullable=True, max_length=320),
        "email_reply_to": Field(str, nullable=True, max_length=254),
        "email_credits": Field(int),
        "email_send_rate": Field(int),
        "callback_url": Field(str, nullable=True, max_length=2000),
        "daily_credit_limit": Field(int, nullable=True),
        "file_retention_days": Field(int, choices=FILE_RETENTION_DAYS),
        "message_retention_days": Field(int),
    },
    read_only=(
        "id",
        "credits",
        "credits_used_today",
        "sender_numbers",
        "webhook_token",
        "date_created",
        "date_updated",
    ),
)


class CompanyBody(TypedDict):
    id: int
    name: str
    credits: int
    default_region: str
    timezone: str
    sender_id: str | None
    sender_numbers: list[str]
    optout_text: str
    quiet_hours: bool
    require_second_approver: bool
    send_rate: int
    optout_scope: str
    keyword_replies: bool
    stop_reply: str
    start_reply: str
    email_from: str | None
    email_reply_to: str | None
    email_credits: int
    email_send_rate: int
    callback_url: str | None
    daily_credit_limit: int | None
    credits_used_today: int
    file_retention_days: int
    message_retention_days: int
    date_created: Timestamp
    date_updated: Timestamp
    webhook_token: NotRequired[str]
    callback_secret: NotRequired[str]


class CallbackSecretBody(TypedDict):
    """The new secret that signs the company's callbacks: shown this once."""

    callback_secret: str


def render_company(company: Company, caller: Caller | None) -> CompanyBody:
    """The company as API.md shows it; `webhook_token` only to admins (and the operator)."""
    body: CompanyBody = {
        "id": company.id,
        "name": company.name,
        "credits": company.credits,
        "default_region": company.default_region,
        "timezone": company.timezone,
        "sender_id": company.sender_id,
        "sender_numbers": sender_numbers.numbers_of(company),
        "optout_text": company.optout_text,
        "quiet_hours": company.quiet_hours,
        "require_second_approver": company.require_second_approver,
        "send_rate": company.send_rate,
        "optout_scope": company.optout_scope,
        "keyword_replies": company.keyword_replies,
        "stop_reply": company.stop_reply,
        "start_reply": company.start_reply,
        "email_from": company.email_from,
        "email_reply_to": company.email_reply_to,
        "email_credits": company.email_credits,
        "email_send_rate": company.email_send_rate,
        "callback_url": company.callback_url,
        "daily_credit_limit": None if company.daily_credit_limit is None else int(company.daily_credit_limit),
        "credits_used_today": daily_credit_limit.used_today(company),
        "file_retention_days": company.file_retention_days,
        "message_retention_days": company.message_retention_days,
        "date_created": iso(company.date_created),
        "date_updated": iso(company.date_updated),
    }
    if caller is None or caller.is_admin:
        body["webhook_token"] = company.webhook_token
    return body


@endpoint(bp, "/company")
def get_company(call: Call) -> CompanyBody:
    return render_company(companies.get_company(call.caller), call.caller)


@endpoint(bp, "/company", methods=("PUT", "PATCH"), body=COMPANY)
def update_company(call: Call) -> CompanyBody:
    company = companies.get_company(call.caller)
    had_secret = company.callback_secret is not None
    changes = call.body(partial=True, current=render_company(company, call.caller))
    updated = companies.update_company(call.caller, changes)
    body = render_company(updated, call.caller)
    if not had_secret and updated.callback_secret:
        body["callback_secret"] = updated.callback_secret  # issued with the first callback_url: shown once
    return body


@endpoint(bp, "/company/callback-secret", methods=("POST",), errors=(409,), idempotent=False)
def rotate_callback_secret(call: Call) -> CallbackSecretBody:
    """Admin: a new secret for the callbacks (the previous one still signs beside it for 24 hours)."""
    return {"callback_secret": secret.rotate(call.caller)}
