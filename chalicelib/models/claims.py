from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.leases import Lease


class Claim(BaseModel):
    """A key claimed at most once, and what holds it: an email within a company (written in the same
    transaction as its user), a lease, a fan-out step's guard, a gateway's id of an SMS already received."""

    Meta = table_meta("uniques")

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    until = NumberAttribute(null=True)  # a lease's end, in epoch seconds


CLAIM_LEASE = Lease(Claim.owner, Claim.until)
