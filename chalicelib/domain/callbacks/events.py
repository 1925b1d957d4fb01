"""What a company's callback URL is told, and when: each status change of a message or deployment
recipient, each inbound reply and each opt-out by STOP, queued ten to a SendMessageBatch after the write.

Nothing is read or queued for a company without a `callback_url`. An event's id comes from what it is
about and its sequence, so emitting it twice (a redelivered receipt that finds its status applied) is
delivered once: the callbacks worker records each event id once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pynamodb.constants import DATETIME_FORMAT

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.rules.modes import is_test
from chalicelib.models import sends
from chalicelib.models.batch import get_items
from chalicelib.models.companies import Company
from chalicelib.models.expressions import plain

MESSAGE_STATUS = "message.status"
RECIPIENT_STATUS = "recipient.status"
INBOUND_RECEIVED = "inbound.received"
OPTOUT_CREATED = "optout.created"
TYPES = (MESSAGE_STATUS, RECIPIENT_STATUS, INBOUND_RECEIVED, OPTOUT_CREATED)
REPORTED = ("sent", "delivered", "failed", "unknown", "opted_out")


def wanted(company: Company | None) -> bool:
    return company is not None and bool(company.callback_url)


def event_id(*parts: Any) -> str:
    """A deterministic id: the same thing at the same sequence is the same event."""
    return "evt_" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:24]


def status_event(company: int, item: dict[str, Any], reported: str | None = None) -> dict[str, Any] | None:
    """The event of a recipient or message (as plain values) in its status now; None for a status no
    callback reports (queued, sending). `reported` names it better (an email's bounced, complained)."""
    status = reported or item.get("status")
    if status not in REPORTED and reported is None:
        return None
    sequence = int(item.get("seq") or 0)
    if reported == "complained":
        sequence += 1  # a complaint comes after the delivery it is reported over, which keeps its status
    data: dict[str, Any] = {"status": status, "sequence": sequence}
    if "deployment" in item:
        kind, about = RECIPIENT_STATUS, ("r", item["deployment"], item["msisdn"])
        data.update(deployment=item["deployment"], recipient=item["msisdn"])
        data.update(
            _destination(item.get("channel"), item.get("number") or item["msisdn"], item.get("email"))
        )
        data["reference"] = f"d{item['deployment']}:{item['msisdn']}"
    else:
        kind, about = MESSAGE_STATUS, ("m", company, item["id"])
        data["message_id"] = item["id"]
        data.update(_destination(item.get("channel"), item.get("destination"), item.get("destination")))
        data["reference"] = f"m{company}:{item['id']}"
    if item.get("error") and status not in ("sent", "delivered"):
        data["error"] = item["error"]
    return _event(kind, company, event_id(*about, sequence, status), data, _status_time(item, status))


def _destination(channel: str | None, number: str | None, email: str | None) -> dict[str, Any]:
    if channel == "email":
        return {"email": email, "msisdn": None}
    return {"msisdn": number}


def _status_time(item: dict[str, Any], status: str) -> str:
    """When the status came about, as stored with it (an event emitted again keeps it); else now."""
    stamp = item.get({"delivered": "date_delivered", "sent": "date_sent"}.get(status, ""))
    if isinstance(stamp, str):
        try:
            return clock.iso(datetime.strptime(stamp, DATETIME_FORMAT))
        except ValueError:
            pass
    return clock.iso(clock.now())


def _event(
    kind: str, company: int, identifier: str, data: dict[str, Any], created: str | None = None
) -> dict[str, Any]:
    return {
        "id": identifier,
        "type": kind,
        "created": created or clock.iso(clock.now()),
        "company": company,
        "test": is_test(company),
        "data": data,
    }


def emit(company: int, events: list[dict[str, Any] | None]) -> None:
    """Queue the events (ten to a SendMessageBatch); an SQS error is raised, so the caller's work is
    retried and emits again."""
    messages = [queue_messages.CallbackEvent(company=company, event=e) for e in events if e is not None]
    queue_messages.enqueue_many(messages)


def statuses_written(
    actions: list[dict[str, Any]], company_of_deployment: Mapping[int, int], company: Callable[[int], Company]
) -> None:
    """After the sender's transaction: an event for each status it wrote whose company wants them (the
    items read back at once, 100 to a request, for the sequence their write gave them)."""
    keys: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for action in actions:
        update = action["Update"]
        owner = sends.deployment_of(action)
        owner_company = (
            company_of_deployment.get(owner) if owner is not None else sends.message_company_of(action)
        )
        if owner_company is not None and wanted(company(owner_company)):
            keys.setdefault(update["TableName"], {}).setdefault(owner_company, []).append(update["Key"])
    for table, by_company in keys.items():
        for owner_company, item_keys in by_company.items():
            items = [plain(item) for item in get_items(table, item_keys)]
            emit(owner_company, [status_event(owner_company, item) for item in items])


def settled_again(company: Company, messages: list[Any]) -> None:
    """API messages a redelivered send finds settled already (its first run's emission may have failed):
    their events again, which the event ids make harmless."""
    if messages and wanted(company):
        emit(company.id, [status_event(company.id, plain(m.serialize())) for m in messages])


def status_applied(company: int, item: dict[str, Any], reported: str | None = None) -> None:
    """After a receipt's write (or on finding it applied already): the item's event, if wanted."""
    if wanted(Company.get_or_none(company)):
        emit(company, [status_event(company, item, reported)])


def inbound_received(company: Company, inbound: Any) -> None:
    if wanted(company):
        data = {
            "inbound_id": inbound.id,
            "msisdn": inbound.originator,
            "to": inbound.destination,
            "text": inbound.text,
            "sequence": 1,
        }
        emit(company.id, [_event(INBOUND_RECEIVED, company.id, event_id("i", company.id, inbound.id), data)])


def optout_created(company: Company, optout: Any) -> None:
    if wanted(company):
        data = {
            "optout_id": optout.id,
            "msisdn": optout.originator,
            "sender": optout.sender,
            "reason": optout.reason,
            "sequence": 1,
        }
        emit(company.id, [_event(OPTOUT_CREATED, company.id, event_id("o", company.id, optout.id), data)])
