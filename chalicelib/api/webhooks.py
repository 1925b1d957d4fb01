"""Provider webhooks: inbound SMS and delivery receipts, addressed by the company's secret token.

They are public (a gateway has no API key), so the token in the path is the only credential: an
unknown token is a 404, like a URL that does not exist. Bodies are JSON or form-encoded, with the field
names the common gateways use (`from`/`From`/`msisdn`, `text`/`Body`, `status`/`MessageStatus` …).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint
from chalicelib.api.schema import Field
from chalicelib.domain.accounts.companies import company_for_webhook
from chalicelib.domain.errors import InvalidInput, UnsupportedMediaType, invalid_field
from chalicelib.domain.inbound import keywords, receipts

bp = Blueprint(__name__)

FORM = "application/x-www-form-urlencoded"
CONTENT_TYPES = ("application/json", FORM)
MAX_RECEIPTS = 100
_INBOUND_FIELDS = {
    "from": ("from", "originator", "msisdn", "source", "originationnumber"),
    "to": ("to", "destination", "recipient", "destinationnumber"),
    "text": ("text", "body", "message", "content", "messagebody"),
    "id": ("id", "message_id", "messageid", "messagesid", "smssid", "inboundmessageid"),
}
_RECEIPT_FIELDS = {
    "id": ("id", "message_id", "messageid", "messagesid", "smssid", "provider_id"),
    "status": ("status", "messagestatus", "eventtype", "event", "state"),
    "reference": ("reference", "client_reference", "client_ref"),
    "error": ("error", "error_message", "errormessage", "errorcode", "error_code", "description"),
    "final": ("final", "isfinal"),
}


def _fields_schema(aliases: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> dict[str, Any]:
    """A gateway's fields, under any of the names the common gateways use (compared case-insensitively)."""
    described = ", ".join(f"{name} ({' / '.join(names)})" for name, names in aliases.items())
    return {
        "type": "object",
        "description": f"Fields: {described}. Required: {', '.join(required)}.",
        "additionalProperties": True,
    }


INBOUND_BODY = _fields_schema(_INBOUND_FIELDS, ("from", "text"))
RECEIPT_BODY = {
    "oneOf": [
        _fields_schema(_RECEIPT_FIELDS, ("id or reference", "status")),
        {"type": "array", "minItems": 1, "maxItems": MAX_RECEIPTS, "items": {"type": "object"}},
    ]
}


class InboundOutcomeBody(TypedDict):
    """What the SMS did: a keyword acted on (stop, start) or a message kept for `GET /inbound`."""

    outcome: str


class ReceiptsBody(TypedDict):
    """How many receipts changed a message, changed nothing (already final) or matched none."""

    applied: int
    unchanged: int
    unknown: int


@endpoint(
    bp,
    "/webhooks/inbound/{token}",
    methods=("POST",),
    public=True,
    content_types=CONTENT_TYPES,
    body=INBOUND_BODY,
)
def inbound_sms(call: Call, token: str) -> InboundOutcomeBody:
    """One SMS a subscriber sent to one of the company's numbers."""
    company = company_for_webhook(token)
    fields = _pick(_one(_payload(call)), _INBOUND_FIELDS, unreadable_dropped=("to",))
    for name in ("from", "text"):
        if fields.get(name) is None:
            raise invalid_field(name, "is required")
    received = keywords.InboundSms(
        originator=fields["from"],
        destination=fields.get("to"),
        text=fields["text"],
        provider_id=fields.get("id"),
    )
    return {"outcome": keywords.receive(company, received)}


@endpoint(
    bp,
    "/webhooks/status/{token}",
    methods=("POST",),
    public=True,
    content_types=CONTENT_TYPES,
    body=RECEIPT_BODY,
)
def delivery_status(call: Call, token: str) -> ReceiptsBody:
    """Delivery receipts: one object, or up to 100 in an array. Every one is checked before any is applied."""
    company = company_for_webhook(token)
    payload = _payload(call)
    items = payload if isinstance(payload, list) else [payload]
    if not 1 <= len(items) <= MAX_RECEIPTS:
        raise InvalidInput(f"Send 1 to {MAX_RECEIPTS} receipts.", code="invalid_body")
    parsed = [_receipt(_one(item), index if len(items) > 1 else None) for index, item in enumerate(items)]
    results = {"applied": 0, "unchanged": 0, "unknown": 0}
    for receipt in parsed:
        results[receipts.apply(receipt, company.id)] += 1
    return results


def _receipt(item: dict[str, Any], index: int | None) -> receipts.Receipt:
    fields = _pick(item, _RECEIPT_FIELDS)
    where = "" if index is None else f"[{index}]."
    if fields.get("id") is None and fields.get("reference") is None:
        raise invalid_field(f"{where}id", "is required (the gateway's message id, or the reference we sent)")
    if fields.get("status") is None:
        raise invalid_field(f"{where}status", "is required")
    final = str(fields.get("final", "true")).lower() not in ("false", "0", "no")
    try:
        outcome = receipts.outcome_of(fields["status"], final)
    except receipts.UnknownStatus:
        raise invalid_field(
            f"{where}status", f"{fields['status']!r} is not a delivery status we know"
        ) from None
    return receipts.Receipt(
        outcome=outcome,
        provider_id=fields.get("id"),
        reference=fields.get("reference"),
        error=receipts.failure_text(outcome, str(fields["status"]), fields.get("error")),
    )


def _payload(call: Call) -> Any:
    """The body as JSON (object or array) or as a form; anything else is a 415."""
    found = call.fields()
    if call.is_form() and not found:
        raise UnsupportedMediaType("Send the fields as JSON or as a URL-encoded form.")
    return found


def _one(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput("Send an object of fields.", code="invalid_body")
    return item


_STORABLE = Field(str)  # what every stored text must be


def _pick(
    item: dict[str, Any], aliases: dict[str, tuple[str, ...]], unreadable_dropped: tuple[str, ...] = ()
) -> dict[str, str]:
    """Our name → the value under the first alias present (names compared case-insensitively). Values
    must be text, numbers or true/false, and storable text (no lone surrogate, no NUL): else a 400, or
    for a field in `unreadable_dropped`, no value. `context` (End User Messaging) may carry the reference."""
    lowered = {str(k).lower(): v for k, v in item.items()}
    context = lowered.get("context")
    if isinstance(context, dict) and "reference" in context:
        lowered.setdefault("reference", context["reference"])
    picked = {}
    for name, names in aliases.items():
        for alias in names:
            value = lowered.get(alias)
            if value is None or value == "":
                continue
            if isinstance(value, (dict, list)):
                raise invalid_field(name, "must be text")
            text = str(value).lower() if isinstance(value, bool) else str(value)
            problem = _STORABLE.problem(text)
            if problem and name not in unreadable_dropped:
                raise invalid_field(name, problem)
            if not problem:
                picked[name] = text
            break
    return picked
