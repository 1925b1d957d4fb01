from pynamodb.attributes import UnicodeAttribute

from chalicelib.models.base import BaseModel, table_meta


class Claim(BaseModel):
    """A key claimed at most once, and what holds it: an email within a company (written in the same
    transaction as its user), a lease, a fan-out step's guard, a gateway's id of an SMS already received."""

    Meta = table_meta("uniques")

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
