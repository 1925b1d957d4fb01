"""A deployment's life cycle: the statuses (integers, as the platform Colony replaces numbers them) and
which action may move which status where; and where one recipient's or API message's SMS has got to,
with which of those cost credits. Plain data, tested as a table."""

from __future__ import annotations

from enum import StrEnum

from chalicelib.domain.errors import Conflict, invalid_field

DRAFT, PENDING_APPROVAL, APPROVED, SENDING, SENT, FAILED, CANCELLED, PAUSED = range(8)
NAMES = {
    DRAFT: "draft",
    PENDING_APPROVAL: "pending_approval",
    APPROVED: "approved",
    SENDING: "sending",
    SENT: "sent",
    FAILED: "failed",
    CANCELLED: "cancelled",
    PAUSED: "paused",
}
BY_NAME = {name: status for status, name in NAMES.items()}

# action → {from status: to status}
MOVES: dict[str, dict[int, int]] = {
    "edit": {DRAFT: DRAFT, PENDING_APPROVAL: DRAFT},
    "submit": {DRAFT: PENDING_APPROVAL},
    "approve": {PENDING_APPROVAL: APPROVED},
    "reject": {PENDING_APPROVAL: DRAFT},
    "cancel": {DRAFT: CANCELLED, PENDING_APPROVAL: CANCELLED, APPROVED: CANCELLED, PAUSED: CANCELLED},
    "delete": {DRAFT: DRAFT},
    "pause": {SENDING: PAUSED},
    "resume": {PAUSED: PAUSED},  # back in the launcher's line; it starts sending when hours allow
    "start": {APPROVED: SENDING, PAUSED: SENDING},  # the launcher, once due and inside permitted hours
    "complete": {SENDING: SENT},  # settlement: every recipient has a status
    "fail": {SENDING: FAILED},  # settlement: nothing could be sent, or part of the send was given up
}
SETTLED_BY = {SENT: "complete", FAILED: "fail", CANCELLED: "cancel"}


class Delivery(StrEnum):
    """Where one recipient's (or one API message's) SMS has got to; stored and shown as the string."""

    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker: the gateway may be taking it right now
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    OPTED_OUT = "opted_out"
    UNKNOWN = "unknown"  # a claim a crash left behind: maybe sent, never sent again


class Job(StrEnum):
    """Where a background job (an import, or a task such as an export) has got to."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


def job_status(value: str) -> Job:
    """A job's status as a filter names it (`?status=running`); else a 400 naming `status`."""
    if value not in tuple(Job):
        raise invalid_field("status", f"must be one of {', '.join(Job)}")
    return Job(value)


DELIVERY_STATUSES = tuple(status.value for status in Delivery)
# These cost their segments: an unknown one may well have been sent. A failed one costs them only when
# the gateway took it (it has a send time or a receipt).
CHARGED = frozenset({Delivery.SENT, Delivery.DELIVERED, Delivery.UNKNOWN})


def is_charged(status: str, taken_by_gateway: bool) -> bool:
    return status in CHARGED or (status == Delivery.FAILED and taken_by_gateway)


def move(action: str, current: int) -> int:
    """The status `action` leads to from `current`, or a 409 that says what the status is now."""
    target = MOVES[action].get(current)
    if target is None:
        allowed = ", ".join(NAMES[s] for s in MOVES[action])
        raise Conflict(
            f"Cannot {action} a deployment that is {NAMES[current]} (only when {allowed}).",
            code="illegal_transition",
        )
    return target


def parse_status(value: str) -> int:
    """A status given as its number or its name (`?status=2` or `?status=approved`)."""
    if value.isdigit() and int(value) in NAMES:
        return int(value)
    if value in BY_NAME:
        return BY_NAME[value]
    raise ValueError(f"must be one of 0-7 or {', '.join(BY_NAME)}")
