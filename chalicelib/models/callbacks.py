"""Callback attempts: one record per event a company's endpoint is sent, with every try's outcome. An
event is recorded once: its id is claimed in `uniques` in the transaction that creates its record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import TransactWriteError

from chalicelib.models.base import BaseModel, condition_failed, table_meta, transaction
from chalicelib.models.claims import Claim
from chalicelib.models.counters import allocate_ids


class Try(MapAttribute):
    """One POST to the endpoint: when, and its status code or the error that stopped it."""

    at = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)


class CallbackAttempt(BaseModel):
    """An event on its way to a company's callback URL: pending, delivered or failed."""

    Meta = table_meta("callbacks")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")
    payload = JSONAttribute()  # the body as the endpoint receives it
    url = UnicodeAttribute()
    tries = ListAttribute(of=Try, default=list)
    delivery = UnicodeAttribute(null=True)  # the SQS message now carrying it (a replay takes over)
    expires_at = NumberAttribute()  # DynamoDB's TTL; moto never fires it, so reads check it too
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()


def event_claim_key(company: int, event_id: str) -> str:
    return f"callback-event:{company}:{event_id}"


def create_once(attempt: CallbackAttempt) -> CallbackAttempt | None:
    """Save a new record with its own id, unless its event has one already: then return None."""
    attempt.id = allocate_ids("callback")[0]
    try:
        with transaction() as write:
            write.save(
                Claim(key=event_claim_key(attempt.company, attempt.event_id), owner=str(attempt.id)),
                condition=Claim.key.does_not_exist(),
            )
            write.save(attempt, condition=CallbackAttempt.id.does_not_exist())
    except TransactWriteError as error:
        if condition_failed(error):
            return None
        raise
    return attempt


def of_event(company: int, event_id: str) -> CallbackAttempt | None:
    """The record an event was given, read consistently."""
    claim = Claim.get_or_none(event_claim_key(company, event_id), consistent_read=True)
    if claim is None:
        return None
    return CallbackAttempt.get_or_none(company, int(claim.owner), consistent_read=True)


def record_try(
    attempt: CallbackAttempt,
    at: datetime,
    status: str,
    status_code: int | None,
    error: str | None,
    url: str | None = None,
) -> None:
    """Append one try and the record's status after it (and the URL it went to, when it went)."""
    actions: list[Any] = [
        CallbackAttempt.tries.set(
            (CallbackAttempt.tries | []).append([Try(at=at, status_code=status_code, error=error)])
        ),
        CallbackAttempt.status.set(status),
        CallbackAttempt.date_updated.set(at),
    ]
    if url is not None:
        actions.append(CallbackAttempt.url.set(url))
    attempt.update(actions=actions)


def take_over(attempt: CallbackAttempt, delivery: str, at: datetime) -> None:
    """A replay: the record is pending again and belongs to the SQS message `delivery`."""
    attempt.update(
        actions=[
            CallbackAttempt.delivery.set(delivery),
            CallbackAttempt.status.set("pending"),
            CallbackAttempt.date_updated.set(at),
        ]
    )
