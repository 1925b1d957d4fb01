"""Inbound SMS: STOP-family keywords opt the subscriber out at once, START-family ones let them back in,
and everything else is kept for the company to read (`GET /inbound`).

Which texts are keywords is the pure rule `rules.sms_keywords` (read with the keywords of the company's
region). Each new opt-out and each overwrite gets one free confirmation (if the company wants them), and
never more than a few a day.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.domain import clock
from chalicelib.domain.accounts import sender_numbers
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.callbacks import events
from chalicelib.domain.contacts import optouts
from chalicelib.domain.errors import ColonyError, invalid_field
from chalicelib.domain.privacy.person import token_for
from chalicelib.domain.rules.modes import is_test
from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise
from chalicelib.domain.rules.senders import normalise_sender, sender_number
from chalicelib.domain.rules.sms_keywords import keyword
from chalicelib.domain.sending import api_messages
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.claims import Claim
from chalicelib.models.companies import Company
from chalicelib.models.counters import Counter, allocate_ids
from chalicelib.models.inbound import Inbound
from chalicelib.models.pagination import Page, PageRequest, paginate

REPLIES_A_DAY = 3
MAX_TEXT = 1600
MAX_DESTINATION = 64


@dataclass(frozen=True)
class InboundSms:
    """One SMS a subscriber sent, as a gateway reports it (numbers in any format)."""

    originator: str
    destination: str | None
    text: str
    provider_id: str | None = None


def receive(company: Company, sms_in: InboundSms) -> str:
    """Act on one inbound SMS. Returns what happened: `opted_out`, `already_opted_out`, `opted_in`,
    `stored` or `duplicate` (the gateway sent it before)."""
    number, sender = _parties(company, sms_in)
    seen_key = f"inbound:{company.id}:{sms_in.provider_id}" if sms_in.provider_id else None
    if seen_key and Claim.get_or_none(seen_key) is not None:
        return "duplicate"
    found = keyword(sms_in.text, company.default_region)
    outcome = None
    if found and found.action == "stop":
        outcome = _stop(company, number, sender, found.word)
    elif found:
        outcome = _start(company, number, sender)
    if outcome is None:
        return _store(company, number, sender or _raw(sms_in.destination), sms_in, seen_key)
    if seen_key:
        Claim(key=seen_key, owner="keyword").save()
    logger.info("inbound keyword", company=company.id, keyword=found.word if found else None, outcome=outcome)
    return outcome


def list_inbound(caller: Caller, page: PageRequest) -> Page:
    return paginate(Inbound, caller.company, page, scan_index_forward=False)


def _parties(company: Company, sms_in: InboundSms) -> tuple[str, str | None]:
    try:
        number = normalise(sms_in.originator, company.default_region, simulated=is_test(company.id))
    except InvalidPhoneNumber as error:
        raise invalid_field("from", error.reason) from None
    sender = _written_to(company, sms_in.destination)
    if not isinstance(sms_in.text, str) or len(sms_in.text) > MAX_TEXT:
        raise invalid_field("text", f"must be text of at most {MAX_TEXT} characters")
    return number, sender


def _written_to(company: Company, destination: str | None) -> str | None:
    """The sender the subscriber wrote to, or None when the gateway gave none or one that cannot be read:
    the token already names the company, so a STOP still counts (of every sender) and the text is kept."""
    try:
        return normalise_sender(destination, company.default_region)
    except ValueError:
        logger.warning("inbound SMS to a sender that cannot be read", company=company.id)
        return None


def _stop(company: Company, number: str, sender: str | None, word: str) -> str:
    """Opt out of the sender written to when the company keeps per-sender opt-outs, else of all of them."""
    scope = sender if company.optout_scope == "sender" else None
    recorded = optouts.create(company.id, number, scope, f"Replied {word}", source="keyword")
    if not recorded.created:
        return "already_opted_out"
    events.optout_created(company, recorded.optout)
    _confirm(company, number, sender, company.stop_reply)
    return "opted_out"


def _start(company: Company, number: str, sender: str | None) -> str | None:
    """Overwrite what keeps this sender from the subscriber; with nothing to overwrite it is an ordinary reply
    (a "YES" to a campaign's question), so None: store it."""
    if not optouts.overwrite_for_subscriber(company.id, number, sender):
        return None
    _confirm(company, number, sender, company.start_reply)
    return "opted_in"


def _confirm(company: Company, number: str, sender: str | None, text: str) -> None:
    """One free confirmation, from the number written to unless that is another company's number."""
    if company.keyword_replies and _reply_allowed(company, number):
        origin = sender if sender_numbers.may_reply_from(company, sender) else None
        api_messages.send_reply(company, number, text, origin)


def _reply_allowed(company: Company, number: str) -> bool:
    """At most REPLIES_A_DAY confirmations to one number a day: STOP, START, STOP … cannot make a flood.
    The counter is named by the number's erased token, so it never holds the number."""
    day = clock.now().strftime("%Y-%m-%d")
    counter = Counter(name=f"keyword-replies:{company.id}:{token_for(company.id, number)}:{day}")
    try:
        counter.update(
            actions=[Counter.value.add(1)],
            condition=Counter.value.does_not_exist() | (Counter.value < REPLIES_A_DAY),
        )
    except UpdateError as error:
        if condition_failed(error):
            logger.warning("keyword reply withheld: daily limit", company=company.id)
            return False
        raise
    return True


def _raw(destination: str | None) -> str | None:
    """What the gateway wrote as `to`, kept as it came (cut to MAX_DESTINATION) when it is no sender."""
    kept = (destination or "").strip()[:MAX_DESTINATION]
    return kept or None


def _store(
    company: Company, number: str, destination: str | None, sms_in: InboundSms, seen_key: str | None
) -> str:
    message = Inbound(
        company=company.id,
        id=allocate_ids("inbound")[0],
        originator=number,
        destination=destination,
        text=sms_in.text,
        provider_id=sms_in.provider_id,
        date_received=clock.now(),
    )
    try:
        with transaction() as write:
            write.save(message, condition=Inbound.id.does_not_exist())
            if seen_key:
                write.save(
                    Claim(key=seen_key, owner=f"inbound:{message.id}"), condition=Claim.key.does_not_exist()
                )
    except TransactWriteError as error:
        if condition_failed(error):
            return "duplicate"
        raise
    events.inbound_received(company, message)
    return "stored"


def receive_in_test_tenant(company_id: int, sms: InboundSms) -> str:
    """A simulated subscriber's reply to a test tenant (a number is only ever a live company's)."""
    company = Company.get_or_none(company_id) if is_test(company_id) else None
    if company is None:
        logger.warning("simulated reply for no test tenant", company=company_id)
        return "dropped"
    try:
        return receive(company, sms)
    except ColonyError as error:
        logger.warning("simulated reply dropped", company=company.id, reason=error.message)
        return "dropped"


def receive_at_number(sms: InboundSms) -> dict[int, str]:
    """An SMS written to a number (End User Messaging's two-way SMS) is received by the number's owner
    alone; the outcome by company id (none: the number is nobody's)."""
    number = sender_number(sms.destination) if isinstance(sms.destination, str) else None
    company = sender_numbers.recipient_of(number)
    if company is None:
        logger.warning("inbound SMS to a number no company owns")
        return {}
    try:
        return {company.id: receive(company, sms)}
    except ColonyError as error:
        logger.warning("inbound SMS dropped", company=company.id, reason=error.message)
        return {company.id: "dropped"}
