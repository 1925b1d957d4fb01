import secrets

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.models.base import BaseModel, table_meta


class Counter(BaseModel):
    """The last id handed out for one kind of object."""

    Meta = table_meta("counters")

    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)
    expires_at = NumberAttribute(null=True)  # a window's count goes (DynamoDB TTL); id counters stay


def random_id() -> int:
    """An 18-digit id no one can guess or count (for objects whose number must not tell how many there
    are, such as sessions and password links); saved with a does-not-exist condition."""
    return 10**17 + secrets.randbelow(9 * 10**17)


def allocate_ids(kind: str, count: int = 1) -> range:
    """Reserve `count` consecutive ids for `kind` in one atomic write."""
    assert count >= 1, "allocate at least one id"
    counter = Counter(name=kind)
    counter.update(actions=[Counter.value.add(count)])
    return range(counter.value - count + 1, counter.value + 1)


def count_one(name: str, expires_at: int) -> int:
    """Add one to the count `name` (a window's) in one atomic write, and the count it reached; the item
    goes at `expires_at` (epoch seconds)."""
    counter = Counter(name=name)
    counter.update(actions=[Counter.value.add(1), Counter.expires_at.set(expires_at)])
    return int(counter.value)
