"""Pacing: every worker sending for one sender id together keeps to the sender's messages-per-second
limit. The sender's time is one timeline all workers share: a worker reserves a span of it for the sends
it is about to make (one write), then sends at the whole rate from the span's start, so that a deployment
which fits in one chunk goes at its sender's rate and two at once take turns."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable

from chalicelib.domain import clock
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.sending.interruptions import Booked
from chalicelib.models import counters

DEFAULT_RATE = 20
EMAIL_PACE = "@email"  # the email channel's pacer key: no SMS sender id holds an @
TIMELINE_KEPT_SECONDS = 86_400  # an idle sender's timeline goes (DynamoDB TTL)
# A worker that stopped sending for longer than this (a gateway backing off, a slow call) gives up what
# is left of its span and reserves again, rather than send its reserved sends late, over the spans other
# workers reserved since. One merely slower than the rate goes on: its last sends of a span go beside the
# next span's, and workers that cannot keep the rate alone keep it together.
LATE_SECONDS = 0.5

# Reserves `span_ms` of the sender's timeline: the seconds from now until the span starts.
Reserve = Callable[[int], float]


class Pacer:
    """One worker's sends through one sender id: from the start of the spans it reserved of the sender's
    timeline, and never closer together than the rate allows."""

    def __init__(
        self, per_second: float, reserve: Reserve, give_back: Callable[[], None] = lambda: None
    ) -> None:
        self.per_second = per_second
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.reserve = reserve
        self.give_back = give_back  # the rest of the span last reserved: back to the timeline if it is last
        self.next_at = time.monotonic()  # the next moment a send may go: the reserved one, or later
        self.slots = 0  # the sends reserved and not yet made

    def wait(self, upcoming: int = 1, within: float = math.inf) -> None:
        """Sleep until the next send may go. When the reserved sends are used up, or the worker stopped for
        more than LATE_SECONDS past its next moment, reserve a span for the `upcoming` sends it expects.
        Raises Booked, sleeping not, if that is more than `within` seconds away."""
        if not self.interval:
            return
        now = time.monotonic()
        at = max(self.next_at, now)
        if self.slots <= 0 or now - self.next_at > LATE_SECONDS:
            if self.slots > 0:
                self.give_back()  # it stopped: the rest of its span goes back, if nothing came after it
            count = max(1, upcoming)
            start = now + self.reserve(math.ceil(count * 1000 / self.per_second))
            at, self.slots = max(start, self.next_at), count
        if at - now > within:
            self.slots = 0  # the span goes unused: this invocation cannot live to it
            self.give_back()
            raise Booked(at - now)
        if at > now:
            time.sleep(at - now)
        self.next_at = at + self.interval
        self.slots -= 1

    def release(self) -> None:
        """Give back what is left of the span this worker reserved and will not use (recipients skipped,
        a pause, an invocation's end): back to the timeline if nothing was reserved after it."""
        if self.slots > 0:
            self.slots = 0
            self.give_back()


def sender_pacer(company: int, sender: str, per_second: float) -> Pacer:
    """A pacer on the timeline of one company's sender (an SMS sender id, or its email)."""
    name = f"pace#{company}#{sender}"
    idle = True  # the timeline lay idle when this worker last reserved: it likely does again
    last = (0, 0)  # the span this worker last reserved: its start and end, epoch ms

    def reserve(span_ms: int) -> float:
        nonlocal idle, last
        now_ms = clock.epoch_ms()
        start_ms, idle = counters.reserve_span(name, span_ms, now_ms, _kept_until(now_ms), idle)
        last = (start_ms, start_ms + span_ms)
        return (start_ms - now_ms) / 1000

    def give_back() -> None:
        now_ms = clock.epoch_ms()
        start_ms, end_ms = last
        if end_ms > now_ms:  # what is left of it, from now (all of it, if it has not begun)
            counters.give_back_span(name, max(start_ms, now_ms), end_ms, _kept_until(now_ms))

    return Pacer(per_second, reserve, give_back)


def _kept_until(now_ms: int) -> int:
    return now_ms // 1000 + TIMELINE_KEPT_SECONDS


def still_to_come(senders: list[str]) -> list[int]:
    """For each send in order, how many sends from it on go through its sender (itself included)."""
    left: Counter[str] = Counter()
    counts = [0] * len(senders)
    for index in range(len(senders) - 1, -1, -1):
        left[senders[index]] += 1
        counts[index] = left[senders[index]]
    return counts


def pace_key(sender: str | None, channel: str | None) -> str:
    """The pacer an SMS from `sender` (or an email) goes through."""
    return EMAIL_PACE if channel == EMAIL else sender or ""
