from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
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
    file_retention_days = NumberAttribute(default=30)  # filebox files expire after (rules/retention)
    message_retention_days = NumberAttribute(default=90)  # sent messages' bodies are dropped after
    bodies_dropped_through = NumberAttribute(null=True)  # the last API message whose body was dropped
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()

    by_webhook_token = WebhookIndex()
    by_sender = SenderIndex()


def credit_addition(company: int, credits: int) -> dict[str, Any]:
    """Add `credits` to a company's balance, as a raw transaction item."""
    return Update(Company.Meta.table_name, key(id=company)).add("credits", credits).action()
