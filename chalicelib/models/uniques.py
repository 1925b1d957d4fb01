from pynamodb.attributes import UnicodeAttribute

from chalicelib.models.base import BaseModel, table_meta


class Unique(BaseModel):
    """A claimed value (say, an email within a company), written in the same transaction as its owner."""

    Meta = table_meta("uniques")

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
