"""Short leases that keep a scheduled job from running twice at once (a conditional write with an expiry)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from chalicelib.domain import clock
from chalicelib.models.base import condition_failed
from chalicelib.models.claims import CLAIM_LEASE, Claim, claim_lease_free, claim_lease_owner


@contextlib.contextmanager
def held(name: str, seconds: int) -> Iterator[bool]:
    """Yields True while this run holds the lease `name` (False: another run has it); released after."""
    now = int(clock.now().timestamp())
    until = now + seconds
    lease = Claim(key=f"lease#{name}", owner=claim_lease_owner(until, str(uuid.uuid4())), until=until)
    try:
        lease.save(condition=claim_lease_free(now))
    except Exception as error:
        if condition_failed(error):
            yield False
            return
        raise
    try:
        yield True
    finally:
        with contextlib.suppress(Exception):
            lease.delete(condition=CLAIM_LEASE.held_by(lease.owner))
