import secrets

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from chalicelib.models.base import CONFLICT_RETRIES, BaseModel, condition_failed, table_meta


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


def reserve_span(name: str, span_ms: int, now_ms: int, expires_at: int, idle: bool) -> tuple[int, bool]:
    """Reserve the next `span_ms` of the timeline `name` (its value: the epoch ms its reserved time ends):
    the moment the span starts, and whether the timeline lay idle (its end passed), when it starts again
    at `now_ms`. `idle` is the guess of that to try first: a restart if idle, else adding to the end;
    a right guess takes one write."""
    for _ in range(CONFLICT_RETRIES):
        if idle and _restart(name, now_ms + span_ms, expires_at, ended_by=now_ms):
            return now_ms, True
        end = _extend(name, span_ms, expires_at)
        if end - span_ms >= now_ms:
            return end - span_ms, False
        idle = True  # the end added to had passed: start again, unless another worker reserved after it
        if _restart(name, now_ms + span_ms, expires_at, ended_at=end):
            return now_ms, True
    return now_ms, True


def _extend(name: str, span_ms: int, expires_at: int) -> int:
    """Add `span_ms` to the timeline's end: the new end."""
    counter = Counter(name=name)
    counter.update(actions=[Counter.value.add(span_ms), Counter.expires_at.set(expires_at)])
    return int(counter.value)


def _restart(name: str, end: int, expires_at: int, ended_by: int = 0, ended_at: int | None = None) -> bool:
    """Set the timeline's end to `end` if its end is exactly `ended_at`, or (without `ended_at`) if it
    has none or it is at most `ended_by`; whether it was set."""
    if ended_at is None:
        condition = Counter.value.does_not_exist() | (Counter.value <= ended_by)
    else:
        condition = Counter.value == ended_at
    try:
        Counter(name=name).update(
            actions=[Counter.value.set(end), Counter.expires_at.set(expires_at)], condition=condition
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def give_back_span(name: str, start_ms: int, end_ms: int, expires_at: int) -> bool:
    """Give the span [`start_ms`, `end_ms`) back to the timeline `name` if nothing was reserved after it;
    whether it was given back."""
    return _restart(name, start_ms, expires_at, ended_at=end_ms)
