"""SES's word on each email (Delivery, Bounce, Complaint, Reject), applied like SMS receipts: found by
the id SES gave it, order-free (a delivery beats a bounce, a duplicate changes nothing). A permanent
bounce and a complaint also suppress the address for the company's marketing email."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.contacts import optouts
from chalicelib.domain.inbound import receipts
from chalicelib.domain.rules.addresses import InvalidAddress, address_key, normalise_address
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.domain.rules.modes import is_test
from chalicelib.log import logger
from chalicelib.models.deployments import Message, Recipient

SOURCE = "ses"
_OUTCOMES = {"Delivery": Delivery.DELIVERED, "Complaint": Delivery.DELIVERED, "Reject": Delivery.FAILED}


@dataclass(frozen=True)
class EmailEvent:
    kind: str  # Delivery, Bounce, Complaint, Reject
    message_id: str
    reference: str | None = None  # the email's X-Colony-Reference header (m<company>:<id>, d<dep>:<key>)
    addresses: tuple[str, ...] = ()  # the bounced or complaining recipients
    permanent: bool = False  # a bounce SES will not retry
    description: str = ""


def apply(event: EmailEvent) -> str:
    """Apply one event: `applied`, `unchanged`, `unknown` (no email of ours has that id) or `ignored`
    (an event kind that changes nothing)."""
    outcome = _OUTCOMES.get(event.kind, Delivery.FAILED if event.kind == "Bounce" else None)
    if outcome is None:
        return "ignored"
    companies = _senders_of(event.message_id, event.reference)
    error = receipts.failure_text(outcome, event.kind, event.description)
    reported = {"Bounce": "bounced", "Complaint": "complained"}.get(event.kind)
    receipt = receipts.Receipt(
        outcome, provider_id=event.message_id, reference=event.reference, error=error, reported=reported
    )
    result = receipts.apply(receipt, None, channel=EMAIL)
    if event.kind == "Complaint" or (event.kind == "Bounce" and event.permanent):
        reason = "complained" if event.kind == "Complaint" else "bounced"
        for company in companies:
            _suppress(company, event.addresses, reason)
    return result


def _senders_of(message_id: str, reference: str | None) -> set[int]:
    """The companies whose API email or deployment email SES gave `message_id` (or its reference names:
    an event can beat the write of the id)."""
    companies = {hit.company for hit in Message.by_provider_id.query(message_id, limit=2)}
    recipients = [(hit.deployment, hit.msisdn) for hit in Recipient.by_provider_id.query(message_id, limit=2)]
    parsed = receipts.parse_reference(reference)
    if parsed is not None and parsed[0] == "m":
        companies.add(parsed[1])
    elif parsed is not None:
        recipients.append((parsed[1], str(parsed[2])))
    for deployment, key in recipients:
        found = Recipient.get_or_none(deployment, key)
        if found is not None:
            companies.add(found.company)
    return companies


def _suppress(company: int, addresses: tuple[str, ...], reason: str) -> None:
    for address in addresses:
        try:
            key = address_key(normalise_address(address, simulated=is_test(company)))
        except InvalidAddress:
            logger.warning("email event names no address we can suppress", company=company)
            continue
        optouts.create(company, key, None, reason, source=SOURCE, channel=EMAIL)
