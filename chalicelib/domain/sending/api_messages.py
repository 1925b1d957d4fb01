"""Messages through the API: one (`POST /messages/send`) or up to 10,000 (`/messages/bulk`).

Credits are reserved when a message is accepted and given back if it fails or the number opted out.
The send is queued first and the credits taken second, in one transaction with the message (or the
bulk's record); the sender sends only what was paid for, so a crash between the two loses nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.campaigns import check_campaign
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.credits import AlreadyPaid, pay_for, refund_items, shortfall
from chalicelib.domain.errors import (
    ColonyError,
    InsufficientCredits,
    InvalidInput,
    NotFound,
    invalid_field,
)
from chalicelib.domain.idempotency.keys import reserved_ids, resumed
from chalicelib.domain.rules.gsm_substitution import substituted
from chalicelib.domain.rules.lifecycle import Delivery, is_charged
from chalicelib.domain.rules.modes import is_test
from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise
from chalicelib.domain.rules.segments import Cost, cost
from chalicelib.domain.rules.templates import priced_text
from chalicelib.domain.sending import writes
from chalicelib.domain.sending.refusals import already_paid, pay_for_message
from chalicelib.domain.stats import periods
from chalicelib.domain.stats.tally import column
from chalicelib.log import logger
from chalicelib.models import batch, dynamodb, sends
from chalicelib.models.base import (
    StillConflicting,
    condition_failed,
    transact_write,
)
from chalicelib.models.companies import Company
from chalicelib.models.counters import allocate_ids
from chalicelib.models.deployments import Bulk, Message
from chalicelib.models.pagination import Page, PageRequest, paginate

MAX_TEXT = 1600
MAX_BULK = 10_000
CHUNK = 100


@dataclass(frozen=True)
class BulkResult:
    bulk: Bulk
    rejected: list[tuple[int, ColonyError]]
    accepted: list[tuple[int, int]]  # (index in the request, message id)


def credits_kept(message: Message) -> int:
    """What an API message (SMS or email) costs the company: its reservation until it is settled, then
    what was kept: 0 for one refunded (opted out, or failed before any gateway took it)."""
    settled = message.status not in (Delivery.QUEUED, Delivery.SENDING)
    if settled and not is_charged(message.status, message.provider_id is not None):
        return 0
    return message.credits


def optout_line(company: Company, marketing: bool) -> str | None:
    """An API message carries the company's opt-out line when, and only when, it is marketing."""
    return company.optout_text if marketing else None


def quote(caller: Caller, data: dict[str, Any]) -> Cost:
    """What one message would cost if sent now with the same fields: `marketing` (or its older
    spelling in quotes, `optout`) adds the opt-out line exactly as the send does."""
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        raise invalid_field("message", "must not be empty")
    flags = {name: data[name] for name in ("marketing", "optout") if data.get(name) is not None}
    if len(set(flags.values())) > 1:
        raise invalid_field("optout", "is the older name of marketing: give one, or the same value")
    marketing = bool(next(iter(flags.values()), False))
    full = priced_text(text, optout_line(get_company(caller), True) if marketing else None)
    return cost(substituted(full) if data.get("gsm_substitute") else full)


def quote_both(caller: Caller, data: dict[str, Any]) -> tuple[Cost, Cost]:
    """The quote as asked, and as it would be with GSM substitution (the same when it changes nothing)."""
    return quote(caller, data), quote(caller, {**data, "gsm_substitute": True})


def send_one(caller: Caller, data: dict[str, Any]) -> Message:
    company = get_company(caller)
    message = _message(caller, company, data, reserved_ids("message")[0])
    paid = already_paid(message)
    if paid is not None:
        return paid
    queue_messages.enqueue(queue_messages.SendMessages(company=caller.company, ids=[message.id]))
    pay_for_message(message, company)
    return message


def send_bulk(caller: Caller, items: list[Any]) -> BulkResult:
    """Every valid item is accepted and paid for together (402 if the balance is short); each invalid
    one is listed by index with its reason."""
    company = get_company(caller)
    if not 1 <= len(items) <= MAX_BULK:
        raise InvalidInput(f"Send an array of 1 to {MAX_BULK} messages.", code="invalid_body")
    allocated = reserved_ids("message", len(items))
    ids = iter(allocated)
    bulk_id = reserved_ids("bulk")[0]
    accepted, rejected, indexes = [], [], []
    for index, item in enumerate(items):
        try:
            if isinstance(item, ColonyError):
                raise item
            message = _message(caller, company, item, next(ids))
        except ColonyError as error:
            rejected.append((index, error))
            continue
        message.bulk = bulk_id
        accepted.append(message)
        indexes.append(index)
    credits = sum(m.credits for m in accepted)
    bulk = Bulk(
        company=caller.company,
        id=bulk_id,
        status="paid",
        accepted=len(accepted),
        credits=credits,
        date_created=clock.now(),
        first_message=allocated[0],
        last_message=allocated[-1],
    )
    pairs = [(i, m.id) for i, m in zip(indexes, accepted, strict=True)]
    settled = _settled_before(bulk)
    if settled is not None:
        return BulkResult(bulk=settled, rejected=rejected, accepted=pairs)
    if accepted:
        batch.write_items(Message.Meta.table_name, [m.serialize() for m in accepted])
        queue_messages.enqueue_many(
            [
                queue_messages.SendMessages(
                    company=caller.company, ids=[m.id for m in accepted[i : i + CHUNK]]
                )
                for i in range(0, len(accepted), CHUNK)
            ],
        )
    try:
        pay_for(bulk, Bulk.id.does_not_exist(), company, credits)
    except AlreadyPaid:  # the same request, taken over by its idempotency key, paid meanwhile
        return BulkResult(bulk=Bulk.get(caller.company, bulk_id), rejected=rejected, accepted=pairs)
    except InsufficientCredits:
        _refused(bulk)
        raise
    return BulkResult(bulk=bulk, rejected=rejected, accepted=pairs)


def _refused(bulk: Bulk) -> None:
    """Mark a bulk request whose balance was short, so the sender drops its messages at once (a 409 marks
    nothing: its messages wait, unsent, for a retry under its key to pay, or are given up)."""
    bulk.status = "refused"
    try:
        bulk.save(condition=Bulk.id.does_not_exist())
    except Exception as error:
        if not condition_failed(error):
            raise


def _settled_before(bulk: Bulk) -> Bulk | None:
    """The bulk request as stored, when this request runs again (same idempotency key, same ids) after
    the one before it died having paid for it; refused then is refused now. Until a bulk request is
    settled none of its messages is sent, so running it again before that writes them safely."""
    if not resumed():
        return None
    stored = Bulk.get_or_none(bulk.company, bulk.id, consistent_read=True)
    if stored is not None and stored.status != "paid":
        raise shortfall(bulk.company, bulk.credits)
    return stored


def send_reply(company: Company, number: str, text: str, sender: str | None) -> Message:
    """A service message to one subscriber (a keyword's confirmation): free, never marketing, from the
    number they wrote to (else the company's sender)."""
    price = cost(text)
    message = Message(
        company=company.id,
        id=allocate_ids("message")[0],
        destination=number,
        text=text,
        status=Delivery.QUEUED,
        segments=price.segments,
        encoding=price.encoding,
        credits=0,
        marketing=False,
        sender=sender or company.sender_id,
        date_created=clock.now(),
    )
    message.save(condition=Message.id.does_not_exist())
    queue_messages.enqueue(queue_messages.SendMessages(company=company.id, ids=[message.id]))
    return message


def get_message(caller: Caller, message_id: int) -> Message:
    found = Message.get_or_none(caller.company, message_id)
    if found is None or found.channel is not None:
        raise NotFound(f"There is no message {message_id}.")
    return found


def list_messages(
    caller: Caller, page: PageRequest, campaign: int | None = None, bulk: int | None = None
) -> Page:
    """The company's SMS, newest first (its emails are read at /emails), of one campaign or one bulk
    request when asked (a query of the company's messages, filtered)."""
    condition = Message.channel.does_not_exist()
    if campaign is not None:
        condition &= Message.campaign == campaign
    if bulk is None:
        return paginate(Message, caller.company, page, filter_condition=condition, scan_index_forward=False)
    request = get_bulk(caller, bulk)
    ids = (request.first_message, request.last_message)
    return paginate(
        Message,
        caller.company,
        page,
        range_bounds=(str(ids[0]), str(ids[1])) if None not in ids else None,
        **_of_bulk(request),
        filter_condition=condition & (Message.bulk == bulk),
        scan_index_forward=False,
    )


def get_bulk(caller: Caller, bulk_id: int) -> Bulk:
    found = Bulk.get_or_none(caller.company, bulk_id)
    if found is None:
        raise NotFound(f"There is no bulk request {bulk_id}.")
    return found


def bulk_statuses(caller: Caller, bulk_id: int) -> tuple[Bulk, Counter]:
    """A bulk request and how many of its messages are in each status (read in its messages' id range)."""
    request = get_bulk(caller, bulk_id)
    found = Message.query(
        caller.company,
        **_of_bulk(request),
        filter_condition=Message.bulk == bulk_id,
        attributes_to_get=["status"],
        consistent_read=True,
    )
    return request, Counter(message.status for message in found)


def _of_bulk(request: Bulk) -> dict[str, Any]:
    """The key condition that reads only a bulk request's messages (older ones name no id range)."""
    if request.first_message is None or request.last_message is None:
        return {}
    return {"range_key_condition": Message.id.between(request.first_message, request.last_message)}


def _message(caller: Caller, company: Company, data: dict[str, Any], message_id: int) -> Message:
    problems: dict[str, list[str]] = {}
    destination = ""
    try:
        destination = normalise(
            data.get("destination") if isinstance(data.get("destination"), str) else None,
            company.default_region,
            simulated=is_test(company.id),
        )
    except InvalidPhoneNumber as error:
        problems["destination"] = [error.reason]
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        problems["message"] = ["is required"]
    elif len(text) > MAX_TEXT:
        problems["message"] = [f"must be at most {MAX_TEXT} characters"]
    if problems:
        raise InvalidInput("; ".join(f"{k} {v[0]}" for k, v in problems.items()), fields=problems)
    campaign = check_campaign(caller, data.get("campaign_pk"), "campaign_pk")
    marketing = bool(data.get("marketing", False))
    full = priced_text(text, optout_line(company, marketing))
    if data.get("gsm_substitute"):
        full = substituted(full)
    price = cost(full)
    return Message(
        company=caller.company,
        id=message_id,
        destination=destination,
        text=full,
        status=Delivery.QUEUED,
        segments=price.segments,
        encoding=price.encoding,
        credits=price.credits,
        marketing=marketing,
        campaign=campaign,
        sender=company.sender_id,
        date_created=clock.now(),
    )


def check_item_types(item: Any) -> dict[str, Any]:
    """One bulk item's shape (the seed's fields, plus `marketing`); a wrong one is rejected by index."""
    if not isinstance(item, dict):
        raise InvalidInput("Each item must be an object.", code="invalid_item")
    unknown = set(item) - {"destination", "message", "campaign_pk", "marketing", "gsm_substitute"}
    if unknown:
        name = sorted(unknown)[0]
        raise invalid_field(name, "is not a field of a message")
    if (
        "campaign_pk" in item
        and item["campaign_pk"] is not None
        and not (isinstance(item["campaign_pk"], int) and not isinstance(item["campaign_pk"], bool))
    ):
        raise invalid_field("campaign_pk", "must be a whole number")
    for flag in ("marketing", "gsm_substitute"):
        if flag in item and not isinstance(item[flag], bool):
            raise invalid_field(flag, "must be true or false")
    if isinstance(item.get("destination"), int):
        item = {**item, "destination": str(item["destination"])}
    return item


def fail_messages(company: int, ids: list[int], reason: str) -> None:
    """API messages that can no longer be sent fail, and their credits go back (once each) — if they
    were ever taken: a bulk request whose payment never happened refunds nothing."""
    bulks: dict[int, bool] = {}
    busy: list[int] = []
    tz = Company.get(company).timezone
    for message in Message.batch_get([(company, i) for i in ids]):
        if message.status != Delivery.QUEUED:
            continue
        paid = True
        if message.bulk is not None:
            if message.bulk not in bulks:
                found = Bulk.get_or_none(company, message.bulk, consistent_read=True)
                bulks[message.bulk] = found is not None and found.status == "paid"
            paid = bulks[message.bulk]
        now = clock.now()
        failed = sends.fail_queued(
            Message.Meta.table_name, sends.message_key(company, message.id), reason, periods.epoch(now)
        )
        pending = writes.Pending(refunds={company: message.credits if paid else 0})
        col = column(Delivery.FAILED, message.channel)
        pending.tally.add(company, None, now, tz, col, 1, message.campaign)
        try:
            transact_write([failed, *refund_items(pending.refunds), *pending.tally.updates()])
        except StillConflicting:
            busy.append(message.id)  # the others are still failed; this one raises below
        except dynamodb.TransactionCancelled as cancelled:
            if not cancelled.failed:
                raise
            logger.info("message settled elsewhere meanwhile", message_id=message.id)
    if busy:
        raise StillConflicting(f"messages {busy} could not be failed: their writes kept conflicting")
