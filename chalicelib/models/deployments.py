from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.models import dynamodb
from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.expressions import key, plain
from chalicelib.models.leases import Lease


class Campaign(BaseModel):
    """A name that deployments and messages point to (`linked_campaign`, `campaign_pk`)."""

    Meta = table_meta("campaigns")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    title = UnicodeAttribute()
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()


class LaunchIndex(GlobalSecondaryIndex):
    """Deployments waiting to start (approved, or paused until hours open), by when: sparse, so the
    launcher reads only those and never scans."""

    class Meta:
        index_name = "launch-index"
        projection = AllProjection()

    launch_queue = UnicodeAttribute(hash_key=True)
    launch_at = UnicodeAttribute(range_key=True)


class Deployment(BaseModel):
    """A campaign send: one message to the people on some contact lists (or on its own imported list).

    `version` grows with every edit: an approval only lands on the version it quoted. `reserved` is
    the credits taken from the company at approval and not yet used or returned.
    """

    Meta = table_meta("deployments")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    title = UnicodeAttribute()
    status = NumberAttribute(default=0)
    message = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    html = UnicodeAttribute(null=True)
    contact_lists = ListAttribute(of=NumberAttribute, default=list)
    source = UnicodeAttribute(default="lists")
    sender = UnicodeAttribute(null=True)
    marketing = BooleanAttribute(default=True)
    optout = BooleanAttribute(default=True)
    gsm_substitute = BooleanAttribute(default=False)
    dispatch = NumberAttribute(default=1)
    send_date = UTCDateTimeAttribute(null=True)
    linked_campaign = NumberAttribute(null=True)
    created_by = NumberAttribute(null=True)
    updated_by = NumberAttribute(null=True)
    approved_by = NumberAttribute(null=True)
    submitted_by = NumberAttribute(null=True)
    editors = NumberSetAttribute(null=True)  # every user who wrote its content (none may approve it)
    total_contacts = NumberAttribute(default=0)
    total_credits = NumberAttribute(default=0)
    opted_out = NumberAttribute(default=0)
    email_opted_out = NumberAttribute(default=0)
    emails = NumberAttribute(default=0)
    sms_segments = NumberAttribute(null=True)
    sms_segments_substituted = NumberAttribute(
        null=True
    )  # the quoted SMS segments (total_credits becomes what was used)
    unreachable = NumberAttribute(default=0)
    quote_status = UnicodeAttribute(null=True)  # current, or pending (a task is quoting a big audience)
    encoding = UnicodeAttribute(null=True)
    non_gsm_chars = ListAttribute(of=UnicodeAttribute, default=list)
    reserved = NumberAttribute(default=0)
    version = NumberAttribute(default=1)
    approving = UnicodeAttribute(null=True)
    approving_until = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    import_id = NumberAttribute(null=True)  # the import writing an imported deployment's recipients
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
    date_approved = UTCDateTimeAttribute(null=True)
    # Sending: what was frozen at approval, where the launcher finds it, and the running counts.
    frozen_optout_text = UnicodeAttribute(null=True)
    frozen_sender = UnicodeAttribute(null=True)
    frozen_email_credits = NumberAttribute(null=True)
    launch_queue = UnicodeAttribute(null=True)
    launch_at = UnicodeAttribute(null=True)
    round = NumberAttribute(default=0)
    expected = NumberAttribute(default=0)
    fanout_done = NumberAttribute(default=0)
    processed = NumberAttribute(default=0)
    sent_count = NumberAttribute(default=0)
    failed_count = NumberAttribute(default=0)
    blocked_count = NumberAttribute(default=0)
    delivered_count = NumberAttribute(default=0)  # of those sent, those a receipt says were delivered
    unknown_count = NumberAttribute(default=0)  # of those failed, those a crash left unknown
    credits_used = NumberAttribute(default=0)
    recounts = NumberAttribute(null=True)  # how often late statuses made a settled deployment recount
    recount_marks = NumberAttribute(null=True)  # how often a worker marked it for one (`sends.recount_due`)
    last_progress = NumberAttribute(null=True)
    last_recovery = NumberAttribute(null=True)
    date_sent = UTCDateTimeAttribute(null=True)
    date_finished = UTCDateTimeAttribute(null=True)
    bodies_dropped = UTCDateTimeAttribute(null=True)  # when retention dropped its recipients' texts

    by_launch = LaunchIndex()


class RecipientByProviderId(GlobalSecondaryIndex):
    """The recipient a gateway's message id belongs to (receipts that carry no reference)."""

    class Meta:
        index_name = "provider-index"
        projection = KeysOnlyProjection()

    provider_id = UnicodeAttribute(hash_key=True)


class MessageByProviderId(GlobalSecondaryIndex):
    """The API message a gateway's message id belongs to."""

    class Meta:
        index_name = "provider-index"
        projection = KeysOnlyProjection()

    provider_id = UnicodeAttribute(hash_key=True)


class Recipient(BaseModel):
    """One message of a deployment to one person, with what it is personalised from: an SMS keyed by
    the number, or (`channel` email) an email keyed by the address's key (`rules/destinations`)."""

    Meta = table_meta("recipients")

    deployment = NumberAttribute(hash_key=True)
    msisdn = UnicodeAttribute(range_key=True)
    company = NumberAttribute()
    channel = UnicodeAttribute(null=True)  # None: sms
    number = UnicodeAttribute(null=True)  # an email's person's number (for {{msisdn}})
    campaign = NumberAttribute(null=True)  # the deployment's linked_campaign, frozen at approval (stats)
    contact = NumberAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    fields = MapAttribute(default=dict)
    message = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=Delivery.QUEUED.value)
    segments = NumberAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    date_sent = UTCDateTimeAttribute(null=True)
    date_delivered = UTCDateTimeAttribute(null=True)
    receipt = UnicodeAttribute(null=True)
    claimed_at = NumberAttribute(null=True)
    claim_round = NumberAttribute(null=True)
    seq = NumberAttribute(null=True)  # +1 with each status change: a callback's per-recipient sequence
    import_id = NumberAttribute(null=True)
    import_row = NumberAttribute(null=True)
    quoted = NumberAttribute(null=True)  # the version of the deployment whose approval quoted it

    by_provider_id = RecipientByProviderId()


class Message(BaseModel):
    """One SMS sent through the API (`POST /messages/send` or one item of `/messages/bulk`), or one
    email (`POST /emails/send`: `channel` is `email`, `destination` the address)."""

    Meta = table_meta("messages")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    destination = UnicodeAttribute()
    text = UnicodeAttribute(null=True)  # None once its retention dropped it (`text_figures` stay)
    text_figures = JSONAttribute(null=True)  # how the dropped text was counted (characters, segments)
    status = UnicodeAttribute()
    segments = NumberAttribute()
    encoding = UnicodeAttribute()
    credits = NumberAttribute()
    marketing = BooleanAttribute(default=False)
    campaign = NumberAttribute(null=True)
    sender = UnicodeAttribute(null=True)
    bulk = NumberAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    date_created = UTCDateTimeAttribute()
    date_sent = UTCDateTimeAttribute(null=True)
    date_delivered = UTCDateTimeAttribute(null=True)
    receipt = UnicodeAttribute(null=True)
    claimed_at = NumberAttribute(null=True)
    seq = NumberAttribute(null=True)  # +1 with each status change: a callback's per-message sequence
    channel = UnicodeAttribute(null=True)  # None: sms
    subject = UnicodeAttribute(null=True)
    html = UnicodeAttribute(null=True)

    by_provider_id = MessageByProviderId()


class Bulk(BaseModel):
    """A `/messages/bulk` request: its messages are sent only once it is `paid` (credits reserved)."""

    Meta = table_meta("bulks")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    status = UnicodeAttribute()
    accepted = NumberAttribute()
    credits = NumberAttribute()
    date_created = UTCDateTimeAttribute()
    # Its messages' ids lie in first_message..last_message (allocated together), so they are one range.
    first_message = NumberAttribute(null=True)
    last_message = NumberAttribute(null=True)


APPROVAL_LEASE = Lease(Deployment.approving, Deployment.approving_until)


def recipient_key(deployment: int, msisdn: str) -> dict[str, Any]:
    return key(deployment=deployment, msisdn=msisdn)


@dataclass(frozen=True, slots=True)
class RecipientState:
    """What settling and counting need of a recipient: its status, cost and receipt, read without the
    message it is personalised from (`date_sent` is the raw stamp: only whether it is there matters)."""

    deployment: int
    msisdn: str
    status: str
    segments: int | None = None
    receipt: str | None = None
    date_sent: str | None = None
    quoted: int | None = None
    error: str | None = None


_STATE_NUMBERS = ("segments", "quoted")
_STATE_TEXTS = ("status", "receipt", "date_sent", "error")


def recipient_states(deployment: int) -> Iterator[RecipientState]:
    """Every recipient of `deployment` as a RecipientState, read consistently, page after page, with
    only those attributes projected."""
    names = {f"#{name}": name for name in ("deployment", "msisdn", *_STATE_NUMBERS, *_STATE_TEXTS)}
    request = {
        "TableName": Recipient.Meta.table_name,
        "KeyConditionExpression": "#deployment = :deployment",
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":deployment": {"N": str(deployment)}},
        "ConsistentRead": True,
    }
    for item in dynamodb.query_items(**request):
        yield _state(deployment, item)


def _state(deployment: int, item: dict[str, Any]) -> RecipientState:
    values = plain(item)
    known = {name: values[name] for name in (*_STATE_NUMBERS, *_STATE_TEXTS) if values.get(name) is not None}
    known.setdefault("status", Delivery.QUEUED.value)
    return RecipientState(deployment, values["msisdn"], **known)
