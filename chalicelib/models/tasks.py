from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, table_meta


class Task(BaseModel):
    """A piece of background work on the tasks queue, and what came of it."""

    Meta = table_meta("tasks")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    kind = UnicodeAttribute()
    user = NumberAttribute(null=True)
    status = UnicodeAttribute()
    params = JSONAttribute(default=dict)
    progress = NumberAttribute(default=0)
    attempts = NumberAttribute(default=0)  # runs started: above 1, an earlier run stopped partway
    result = JSONAttribute(null=True)
    error = UnicodeAttribute(null=True)
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
