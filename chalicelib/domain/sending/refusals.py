"""An API message is queued before it is paid for (so a paid one is never left unsent); one whose
payment is refused is marked so, and the worker drops its queue message at once, with no retry."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.domain.credits import AlreadyPaid, pay_for
from chalicelib.domain.errors import InsufficientCredits
from chalicelib.domain.idempotency.keys import resumed
from chalicelib.models.claims import Claim
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message


def _key(company: int, message_id: int) -> str:
    return f"refused#{company}#{message_id}"


def pay_for_message(message: Message, company: Company) -> None:
    """Save the queued message and take its price; if the balance is short (402), say so for the worker
    (a 409 leaves no mark: the message stays unwritten, and a retry under its key may still pay)."""
    try:
        pay_for(message, Message.id.does_not_exist(), company, message.credits)
    except AlreadyPaid:
        return  # the same request, taken over by its idempotency key, paid for it meanwhile
    except InsufficientCredits:
        Claim(key=_key(message.company, message.id), owner="payment refused").save()
        raise


def already_paid(message: Message) -> Message | None:
    """The message as stored, when this request runs again (same idempotency key, same ids) after the
    one before it died having paid for it."""
    if not resumed():
        return None
    return Message.get_or_none(message.company, message.id, consistent_read=True)


def refused(company: int, message_ids: Iterable[int]) -> set[int]:
    """Those of `message_ids` whose payment was refused (they will never be written)."""
    by_key = {_key(company, i): i for i in message_ids}
    return {by_key[c.key] for c in Claim.batch_get(list(by_key), consistent_read=True)}
