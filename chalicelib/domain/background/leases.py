"""Short leases that keep a scheduled job from running twice at once (a conditional write with an expiry)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from chalicelib.domain import clock
from chalicelib.models.base import condition_failed
from chalicelib.models.uniques import Unique


@contextlib.contextmanager
def held(name: str, seconds: int) -> Iterator[bool]:
    """Yields True while this run holds the lease `name` (False: another run has it); released after."""
    now = int(clock.now().timestamp())
    lease = Unique(key=f"lease#{name}", owner=f"{now + seconds:012d}")
    try:
        lease.save(condition=Unique.key.does_not_exist() | (Unique.owner < f"{now:012d}"))
    except Exception as error:
        if condition_failed(error):
            yield False
            return
        raise
    try:
        yield True
    finally:
        with contextlib.suppress(Exception):
            lease.delete(condition=Unique.owner == lease.owner)
