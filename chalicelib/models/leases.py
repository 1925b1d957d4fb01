"""The one lease shape: a holder and the epoch second its hold lasts until, kept on the item it guards
(an import, a deployment being approved) or on a claim of its own (scheduled jobs, tasks, the rollup).
Taking a lease is a conditional write that succeeds only while it is free; keeping and releasing it are
conditional on still holding it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.expressions.condition import Condition


@dataclass(frozen=True)
class Lease:
    """A lease over two attributes of a model: `holder` (a token) and `until` (epoch seconds)."""

    holder: Attribute
    until: Attribute

    def free(self, now: int) -> Condition:
        """Nobody holds it, or the hold ran out (a holder that died)."""
        return self.until.does_not_exist() | (self.until < now)

    def take(self, holder: str, now: int, seconds: int) -> list[Any]:
        """The actions that make `holder` hold it for `seconds` (with `free` as their condition)."""
        return [self.holder.set(holder), self.until.set(now + seconds)]

    def held_by(self, holder: str) -> Condition:
        return self.holder == holder

    def release(self) -> list[Any]:
        """The actions that free it (with `held_by` as their condition)."""
        return [self.holder.remove(), self.until.remove()]
