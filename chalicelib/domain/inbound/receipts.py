"""Delivery receipts: the network's word on each SMS, applied once and in any order.

A receipt finds its SMS by the reference the sender attached (`d<deployment>:<number>` or
`m<company>:<id>`) or else by the gateway's message id, and moves it to `sent`, `failed` or
`delivered` in one write conditional on what was read, with its hour's counts when it changes column.
Which receipt wins does not depend on arrival order: a delivery beats everything, a failure beats an
acceptance, a duplicate changes nothing. The status travels in a `receipt` attribute too, so the
sender's own status write (which may land after a fast receipt) keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.callbacks import events
from chalicelib.domain.errors import Busy
from chalicelib.domain.rules.channels import SMS
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.domain.stats import periods
from chalicelib.domain.stats.tally import Tally, column
from chalicelib.log import logger
from chalicelib.models import dynamodb, sends
from chalicelib.models.base import StillConflicting, transact_write
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message, Recipient, recipient_key

SENT, FAILED, DELIVERED = Delivery.SENT, Delivery.FAILED, Delivery.DELIVERED
# The receipts each outcome may replace; everything else it meets stays.
_REPLACES = {SENT: (), FAILED: (SENT,), DELIVERED: (SENT, FAILED)}
# A receipt can only be about an SMS the gateway took: never a queued, opted-out or refused one.
_RECEIVABLE = (Delivery.SENDING, Delivery.SENT, Delivery.UNKNOWN)

_DELIVERED = {"DELIVERED", "DELIVRD", "READ"}
_ACCEPTED = {"SUCCESSFUL", "SUCCESS"}
_SENT = {"SENT", "QUEUED", "PENDING", "ACCEPTED", "ACCEPTD", "SENDING", "ENROUTE", "BUFFERED", "SUBMITTED"}
_FAILED = {
    "FAILED",
    "UNDELIVERED",
    "UNDELIV",
    "UNDELIVRD",
    "REJECTED",
    "REJECTD",
    "EXPIRED",
    "DELETED",
    "TTL_EXPIRED",
    "BLOCKED",
    "CARRIER_BLOCKED",
    "PROTECT_BLOCKED",
    "SPAM",
    "INVALID",
    "INVALID_MESSAGE",
    "UNREACHABLE",
    "CARRIER_UNREACHABLE",
    "UNKNOWN",
    "OPTED_OUT",
    "MAX_PRICE_EXCEEDED",
}
READ_ATTEMPTS = 4


class UnknownStatus(ValueError):
    """A status name no gateway we know of uses."""


@dataclass(frozen=True)
class Receipt:
    outcome: str
    provider_id: str | None = None
    reference: str | None = None
    error: str | None = None
    reported: str | None = None  # what a callback calls it, when it says more than `outcome` (bounced)


def outcome_of(status: str, final: bool = True) -> str:
    """`sent`, `failed` or `delivered` for a gateway's status name (`TEXT_DELIVERED`, `DELIVRD`, `undelivered`
    …). A carrier's acceptance counts as delivered when no later word is coming (`final`); so does nothing
    else that is not final: a failure that may still be retried is only progress."""
    name = status.strip().upper().replace("-", "_").replace(" ", "_")
    name = name.removeprefix("TEXT_")
    if name in _DELIVERED:
        return DELIVERED
    if name in _ACCEPTED:
        return DELIVERED if final else SENT
    if name in _SENT:
        return SENT
    if name in _FAILED:
        return FAILED if final else SENT
    raise UnknownStatus(f"unknown status {status!r}")


def apply(receipt: Receipt, company: int | None, channel: str = SMS) -> str:
    """Apply a receipt for `company` (None: trusted, from AWS itself). Returns `applied`, `unchanged` (a
    duplicate, or older news than what is recorded) or `unknown` (no SMS of that company has that id)."""
    for table, key, owner in _targets(receipt, company):
        result = _write(receipt, table, key, owner, channel)
        if result != "unknown":
            logger.info("receipt", outcome=receipt.outcome, result=result, reference=_name(key))
            return result
    logger.warning(
        "receipt for an unknown message",
        provider_id=receipt.provider_id,
        reference=receipt.reference,
        company=company,
    )
    return "unknown"


def _targets(receipt: Receipt, company: int | None) -> list[tuple[str, dict[str, Any], int | None]]:
    """Where the SMS a receipt is about may be: (table, key, the company it must belong to)."""
    targets = []
    parsed = parse_reference(receipt.reference)
    if parsed is not None:
        kind, first, second = parsed
        if kind == "d":
            targets.append((Recipient.Meta.table_name, recipient_key(first, str(second)), company))
        elif company is None or company == first:
            targets.append((Message.Meta.table_name, sends.message_key(first, int(second)), None))
    if receipt.provider_id and not targets:
        for hit in Recipient.by_provider_id.query(receipt.provider_id, limit=2):
            targets.append((Recipient.Meta.table_name, recipient_key(hit.deployment, hit.msisdn), company))
        for hit in Message.by_provider_id.query(receipt.provider_id, limit=2):
            if company is None or hit.company == company:
                targets.append((Message.Meta.table_name, sends.message_key(hit.company, hit.id), None))
    return targets


def failure_text(outcome: str, status: str, description: str | None) -> str | None:
    """What a failed SMS keeps as its `error`, whichever gateway reported it: the gateway's status and
    its description (`UNDELIVERED: absent subscriber`); None for an outcome that is no failure."""
    if outcome != FAILED:
        return None
    return f"{status}: {description or ''}".rstrip(": ")


def parse_reference(reference: str | None) -> tuple[str, int, int | str] | None:
    """`d<deployment>:<key>` → ("d", deployment, key: a number, or an email's address key);
    `m<company>:<id>` → ("m", company, id); a test tenant's company is negative (`m-5:12`)."""
    if not reference or reference[0] not in "dm" or ":" not in reference:
        return None
    head, _, tail = reference[1:].partition(":")
    sign = -1 if reference[0] == "m" and head.startswith("-") else 1
    head = head[1:] if sign < 0 else head
    if reference[0] == "d" and "@" in tail and len(tail) <= 320 and tail.isprintable() and " " not in tail:
        return ("d", int(head), tail) if head.isdigit() and len(head) <= 18 else None
    if not head.isdigit() or not tail.isdigit() or len(head) > 18 or len(tail) > 18:
        return None
    return reference[0], sign * int(head), int(tail) if reference[0] == "m" else tail


def _write(receipt: Receipt, table: str, key: dict[str, Any], owner: int | None, channel: str) -> str:
    """Read the SMS, decide, then write the new status (and move its count to the right column of the
    hour it was sent in) in one transaction conditional on what was read; a race means read again.
    Never silently dropped: when the writes keep colliding, Busy (503) asks the sender to retry."""
    for _ in range(READ_ATTEMPTS):
        item = sends.read(table, key)
        if not item or (owner is not None and item.get("company") != owner):
            return "unknown"
        if (item.get("channel") or SMS) != channel:
            return "unknown"  # an SMS gateway's receipt never settles an email, nor SES's an SMS
        status, held = item["status"], item.get("receipt")
        if not may_apply(status, held, receipt.outcome):
            if status == receipt.outcome:  # applied before: its callback may have been lost
                events.status_applied(item["company"], item, receipt.reported)
            return "unchanged"
        update = sends.receipt(
            table, key, receipt.outcome, status, held, clock.now(), receipt.error, receipt.provider_id
        )
        actions = [
            update,
            *_count_moves(item, status, receipt.outcome),
            *_deployment_counts(table, item, status, receipt),
        ]
        try:
            transact_write(actions)
        except StillConflicting:
            raise Busy("Too many updates to this message at once; send the receipt again.") from None
        except dynamodb.TransactionCancelled:
            continue  # the SMS changed since it was read: read it again
        events.status_applied(item["company"], _after(item, receipt), receipt.reported)
        return "applied"
    raise Busy("This message keeps changing; send the receipt again.")


def _after(item: dict[str, Any], receipt: Receipt) -> dict[str, Any]:
    """The item as the receipt's write left it (the write was conditional on `item` as read)."""
    error = receipt.error if receipt.outcome == FAILED and receipt.error else item.get("error")
    return {**item, "status": receipt.outcome, "seq": int(item.get("seq") or 0) + 1, "error": error}


def may_apply(status: str, held: str | None, outcome: str) -> bool:
    """Whether a receipt with `outcome` changes an SMS in `status` that holds the receipt `held`: it must
    be one the gateway took, and news: a delivery beats everything, a failure beats an acceptance."""
    if status not in _RECEIVABLE and held is None:
        return False
    return held is None or held in _REPLACES[outcome]


def _deployment_counts(
    table: str, item: dict[str, Any], status: str, receipt: Receipt
) -> list[dict[str, Any]]:
    if table != Recipient.Meta.table_name:
        return []
    counts = sends.deployment_receipt_counts(item["company"], item["deployment"], receipt.outcome, status)
    return [counts] if counts else []


def _count_moves(item: dict[str, Any], status: str, outcome: str) -> list[dict[str, Any]]:
    """The hour counts' move from the column the SMS is counted in to the outcome's. One still
    `sending` will be counted as sent by its sender, so it moves from there."""
    channel = item.get("channel")
    was = column(Delivery.SENT if status == Delivery.SENDING else status, channel)
    if was == column(outcome, channel):
        return []
    company = item["company"]
    deployment = item.get("deployment")
    if "claimed_at" in item:
        moment = periods.from_epoch(item["claimed_at"])
    elif "date_sent" in item:
        moment = Recipient.date_sent.deserialize(item["date_sent"])
    else:
        moment = clock.now()
    tally = Tally()
    zone = Company.get(company).timezone
    tally.move(company, deployment, moment, zone, was, column(outcome, channel), item.get("campaign"))
    return tally.updates()


def _name(key: dict[str, Any]) -> str:
    return sends.reference(key)
