from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, table_meta


class Company(BaseModel):
    """A customer of Colony; `credits` only changes through conditional updates."""

    Meta = table_meta("companies")

    id = NumberAttribute(hash_key=True)
    name = UnicodeAttribute()
    credits = NumberAttribute(default=0)
    default_region = UnicodeAttribute()
    timezone = UnicodeAttribute()
    sender_id = UnicodeAttribute(null=True)
    optout_text = UnicodeAttribute()
    quiet_hours = BooleanAttribute()
    require_second_approver = BooleanAttribute()
    webhook_token = UnicodeAttribute()
    send_rate = NumberAttribute(default=20)
    admin_count = NumberAttribute(default=0)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
