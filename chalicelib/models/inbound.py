from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, table_meta


class Inbound(BaseModel):
    """A text a subscriber sent that was not a keyword it acted on (newest first in `GET /inbound`)."""

    Meta = table_meta("inbound")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    originator = UnicodeAttribute()
    destination = UnicodeAttribute(null=True)
    text = UnicodeAttribute()
    provider_id = UnicodeAttribute(null=True)
    date_received = UTCDateTimeAttribute()
