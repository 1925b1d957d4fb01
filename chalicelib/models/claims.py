from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition

from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.leases import Lease


class Claim(BaseModel):
    """A key claimed at most once, and what holds it: an email within a company (written in the same
    transaction as its user), a lease, a fan-out step's guard, a gateway's id of an SMS already received,
    a number that can receive (held by the id of the company it is assigned to)."""

    Meta = table_meta("uniques")

    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    until = NumberAttribute(null=True)  # a lease's end, in epoch seconds


CLAIM_LEASE = Lease(Claim.owner, Claim.until)


def claim_lease_owner(until: int, token: str) -> str:
    """A claim lease's holder: its end second, zero-padded, then a token of its own. The end first keeps
    the earlier shape readable (it held only the end second, and no `until`)."""
    return f"{until:012d}-{token}"


def claim_lease_free(now: int) -> Condition:
    """`CLAIM_LEASE.free`, and free too when nobody has claimed it or an earlier-shaped lease (no
    `until`, its end in `owner`) ran out."""
    earlier_shape = Claim.until.does_not_exist() & (
        Claim.key.does_not_exist() | (Claim.owner < f"{now:012d}")
    )
    return earlier_shape | (Claim.until < now)


def sender_number_key(number: str) -> str:
    """The claim that assigns a number (international digits) to one company."""
    return f"sender-number:{number}"
