from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, table_meta


class File(BaseModel):
    """A file in a user's filebox (an import's rejected rows, a report, an export), stored in S3."""

    Meta = table_meta("files")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    user = NumberAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    key = UnicodeAttribute()
    size = NumberAttribute()
    content_type = UnicodeAttribute()
    date_created = UTCDateTimeAttribute()
    retention_days = NumberAttribute(null=True)  # as tagged on its object at upload (None: older, 30)
    expires_at = UTCDateTimeAttribute(null=True)  # reads refuse it from then; S3's rule deletes it
