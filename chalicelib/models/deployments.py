from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models.base import BaseModel, table_meta


class Campaign(BaseModel):
    """A name that deployments and messages point to (`linked_campaign`, `campaign_pk`)."""

    Meta = table_meta("campaigns")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    title = UnicodeAttribute()
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()


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
    contact_lists = ListAttribute(of=NumberAttribute, default=list)
    source = UnicodeAttribute(default="lists")
    sender = UnicodeAttribute(null=True)
    marketing = BooleanAttribute(default=True)
    optout = BooleanAttribute(default=True)
    dispatch = NumberAttribute(default=1)
    send_date = UTCDateTimeAttribute(null=True)
    linked_campaign = NumberAttribute(null=True)
    created_by = NumberAttribute(null=True)
    updated_by = NumberAttribute(null=True)
    approved_by = NumberAttribute(null=True)
    total_contacts = NumberAttribute(default=0)
    total_credits = NumberAttribute(default=0)
    opted_out = NumberAttribute(default=0)
    encoding = UnicodeAttribute(null=True)
    non_gsm_chars = ListAttribute(of=UnicodeAttribute, default=list)
    reserved = NumberAttribute(default=0)
    version = NumberAttribute(default=1)
    approving = UnicodeAttribute(null=True)
    approving_until = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
    date_approved = UTCDateTimeAttribute(null=True)


class Recipient(BaseModel):
    """One number a deployment goes to, with what its message is personalised from."""

    Meta = table_meta("recipients")

    deployment = NumberAttribute(hash_key=True)
    msisdn = UnicodeAttribute(range_key=True)
    company = NumberAttribute()
    contact = NumberAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    fields = MapAttribute(default=dict)
    message = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="queued")
    import_id = NumberAttribute(null=True)
    import_row = NumberAttribute(null=True)
