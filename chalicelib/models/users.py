from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, table_meta


class User(BaseModel):
    """A person (or system) acting for one company; keyed by company so every read is scoped."""

    Meta = table_meta("users")

    company = NumberAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    date_created = UTCDateTimeAttribute()
    date_updated = UTCDateTimeAttribute()
