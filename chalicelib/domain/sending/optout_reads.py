"""A chunk's opt-out reads: again within seconds (a STOP mid-chunk is honoured soon), and with erased
tokens too once an erasure has kept one of the company's opt-outs under a token."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from chalicelib.domain.contacts import optouts
from chalicelib.domain.sending.outgoing import unreachable
from chalicelib.models.companies import Company

FRESH_SECONDS = 10.0  # a chunk re-reads its opt-outs when its last read is older than this


def asks_tokens(company: Company, marked: set[int]) -> bool:
    """Whether opt-out reads ask erased tokens: once an erasure kept an opt-out of the company (as its
    item, or a claim refused since, in `marked`, says)."""
    return bool(company.erased_optouts) or company.id in marked


@dataclass
class ChunkOptouts:
    """The numbers a chunk must not send marketing to, as last read, when, and whether with tokens."""

    company: int
    sender: str | None
    blocked: set[str] = field(default_factory=set)
    read_at: float = float("-inf")
    tokens: bool = False

    def read_if_due(self, recipients: list[dict], tokens: bool) -> None:
        """Read the reachable `recipients` again when the last read is older than FRESH_SECONDS, or was
        made without the tokens now needed."""
        if time.monotonic() - self.read_at <= FRESH_SECONDS and (self.tokens or not tokens):
            return
        numbers = [r["msisdn"] for r in recipients if unreachable(r) is None]
        self.blocked = optouts.opted_out(self.company, self.sender, numbers, with_tokens=tokens)
        self.read_at, self.tokens = time.monotonic(), tokens
