from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.expressions import Update, key

STOP_REPLY = "You are opted out and will get no more messages from us. Reply START to opt in again."
START_REPLY = "You are opted in again. Reply STOP to opt out."


class WebhookIndex(GlobalSecondaryIndex):
    """The company whose webhook URL carries a token."""

    class Meta:
        index_name = "webhook-index"
        projection = KeysOnlyProjection()

    webhook_token = UnicodeAttribute(hash_key=True)


class SenderIndex(GlobalSecondaryIndex):
    """The companies by `sender_id` (how two-way SMS found them before numbers were assigned)."""

    class Meta:
        index_name = "sender-index"
        projection = KeysOnlyProjection()

    sender_id = UnicodeAttribute(hash_key=True)


class Company(BaseModel):
    """A customer of Colony; `credits` only changes through conditional updates."""

    Meta = table_meta("companies")

    id = NumberAttribute(hash_key=True)
    name = UnicodeAttribute()
    credits = NumberAttribute(default=0)
    default_region = UnicodeAttribute()
    timezone = UnicodeAttribute()
    sender_id = UnicodeAttribute(null=True)
    sender_numbers = UnicodeSetAttribute(null=True)  # the numbers assigned to it (each claimed in `uniques`)
    optout_text = UnicodeAttribute()
    quiet_hours = BooleanAttribute()
    require_second_approver = BooleanAttribute()
    webhook_token = UnicodeAttribute()
    send_rate = NumberAttribute(default=20)
    optout_scope = UnicodeAttribute(default="company")
    keyword_replies = BooleanAttribute(default=True)
    stop_reply = UnicodeAttribute(default=STOP_REPLY)
    start_reply = UnicodeAttribute(default=START_REPLY)
    email_from = UnicodeAttribute(null=True)  # `Display Name <address>` or a bare address
    email_reply_to = UnicodeAttribute(null=True)
    email_credits = NumberAttribute(default=1)
    email_send_rate = NumberAttribute(default=10)
    unsubscribe_secret = UnicodeAttribute(null=True)  # signs the unsubscribe links of its emails
    callback_url = UnicodeAttribute(null=True)  # where its events are POSTed (None: no callbacks)
    callback_secret = UnicodeAttribute(null=True)  # signs them; shown once, when issued
    callback_secret_previous = UnicodeAttribute(null=True)  # signs beside it for a day after a rotation
    callback_secret_rotated = UTCDateTimeAttribute(null=True)
    admin_count = NumberAttribute(default=0)
    daily_credit_limit = NumberAttribute(null=True)  # the most credits one day may take (None: no limit)
    credits_used = MapAttribute(null=True)  # credits taken by day (the company's date): today's only
    file_retention_days = NumberAttribute(default=30)  # filebox files expire after (rules/retention)
    message_retention_days = NumberAttribute(default=90)  # sent messages' bodies are dropped after
    bodies_dropped_through = NumberAttribute(null=True)  # the last API message whose body was dropped
    bodies_unsettled = NumberSetAttribute(null=True)  # API messages before it, unsettled at their turn
    # erasures that kept an opt-out under the person's token: until one has, a send asks no tokens
    erased_optouts = NumberAttribute(null=True)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()

    by_webhook_token = WebhookIndex()
    by_sender = SenderIndex()


def credit_addition(company: int, credits: int) -> dict[str, Any]:
    """Add `credits` to a company's balance, as a raw transaction item."""
    return Update(Company.Meta.table_name, key(id=company)).add("credits", credits).action()


def no_erased_optouts(company: int) -> dict[str, Any]:
    """A transaction item that holds only while no erasure has begun to keep an opt-out under a token."""
    return {
        "ConditionCheck": {
            "TableName": Company.Meta.table_name,
            "Key": key(id=company),
            "ConditionExpression": "attribute_not_exists(#erased)",
            "ExpressionAttributeNames": {"#erased": "erased_optouts"},
        }
    }


def day_use(
    day: str, credits: int, limit: int | None, days_held: Iterable[str] | None
) -> tuple[list[Action], Condition]:
    """Count `credits` in `day`'s use, for the update that takes them, and drop the other days the item
    holds (`days_held`; None when it holds no use yet). It holds only while the limit is still `limit`
    (None: none) and the day's use before leaves room for `credits` under it."""
    held = (
        Company.daily_credit_limit.does_not_exist() if limit is None else Company.daily_credit_limit == limit
    )
    if days_held is None:
        return [Company.credits_used.set({day: credits})], held & Company.credits_used.does_not_exist()
    used = Company.credits_used[day]
    actions = [
        used.set((used | 0) + credits),
        *(Company.credits_used[d].remove() for d in days_held if d != day),
    ]
    if limit is not None and credits > 0:
        held = held & (used.does_not_exist() | (used <= limit - credits))
    return actions, held & Company.credits_used.exists()
