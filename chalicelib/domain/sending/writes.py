"""The sender's writes: claims, statuses with their counts and refunds, gathered into the next transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from chalicelib.domain import clock
from chalicelib.domain.deployments.final_counts import FINAL
from chalicelib.domain.rules.lifecycle import PAUSED, SENDING, Delivery
from chalicelib.domain.stats import periods, tally
from chalicelib.log import logger
from chalicelib.models import sends
from chalicelib.models.deployments import Deployment

# How a flush conditions its deployment counters: on its round and sending (STRICT), on its not being
# settled (LOOSE), on its being settled (SETTLED: no counters, a mark that its counts need a recount), none.
STRICT, LOOSE, SETTLED, NONE = "strict", "loose", "settled", "none"
NEXT_LEVEL = {STRICT: LOOSE, LOOSE: SETTLED, SETTLED: NONE}
# the deployment's counter each outcome of the sender adds to
COUNTER_OF = {
    Delivery.SENT: "sent_count",
    Delivery.FAILED: "failed_count",
    Delivery.OPTED_OUT: "blocked_count",
}


@dataclass
class Result:
    """What became of one claimed recipient (or message)."""

    status: str
    segments: int = 0
    provider_id: str | None = None
    error: str | None = None


class Counted(NamedTuple):
    """What a status in `Pending.updates` added to the hour counts: where, and whether it is a late
    outcome that also took back an `unknown`'s unsent."""

    company: int
    deployment: int | None
    moment: datetime
    tz: str
    col: str
    late: bool = False
    campaign: int | None = None

    def add_to(self, into: tally.Tally, col: str, n: int) -> None:
        into.add(self.company, self.deployment, self.moment, self.tz, col, n, self.campaign)


@dataclass
class Pending:
    """Writes waiting for the next transaction: statuses, claims, and per-deployment counts."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    rounds: dict[tuple[int, int], int] = field(default_factory=dict)
    refunds: dict[int, int] = field(default_factory=dict)
    tally: tally.Tally = field(default_factory=tally.Tally)
    counted: dict[str, Counted] = field(default_factory=dict)  # by item name
    given_back: set[str] = field(default_factory=set)  # item names of the claims released unsent
    taken: list[dict[str, Any]] = field(default_factory=list)  # claims refused: settled before, or another's
    checks: dict[int, dict[str, Any]] = field(default_factory=dict)  # by company: no erased opt-out yet


def forget_old_rounds(pending: Pending) -> None:
    """Recipients of a round that is over still count as sent or failed, but not towards the
    completion count (`processed`) of the round that replaced it."""
    for (company, deployment), round_ in pending.rounds.items():
        current = Deployment.get(company, deployment, consistent_read=True)
        if current.round != round_:
            pending.counts.get((company, deployment), {}).pop("processed", None)


def claim_of(table: str, key: dict[str, Any], moment: datetime, round_: int | None = None) -> dict[str, Any]:
    """queued → sending, stamped (with the deployment's round): a claim older than a worker can live
    belongs to a dead one, and the launcher recovers it; the stamp is also the hour it is counted in."""
    return sends.claim(table, key, periods.epoch(moment), round_)


def merge(first: Pending, then: Pending) -> Pending:
    """Writes that failed, put back in front of any added since."""
    merged = Pending(
        updates=first.updates + then.updates,
        claims=then.claims,
        rounds={**first.rounds, **then.rounds},
        refunds=dict(first.refunds),
    )
    merged.tally.merge(first.tally)
    merged.tally.merge(then.tally)
    merged.counted = {**first.counted, **then.counted}
    merged.given_back = first.given_back | then.given_back
    for key, counts in [*first.counts.items(), *then.counts.items()]:
        into = merged.counts.setdefault(key, {})
        for name, n in counts.items():
            into[name] = into.get(name, 0) + n
    for company, n in then.refunds.items():
        merged.refunds[company] = merged.refunds.get(company, 0) + n
    return merged


def outcome(table: str, key: dict[str, Any], result: Result) -> dict[str, Any]:
    """Write what became of a claimed recipient or message (the claim makes it ours alone). A delivery
    receipt can beat this write (a fast network, a slow group): its status stands. Conditional on no
    settlement having written for us (a stamped `date_sent`, or a status other than `sending`)."""
    return sends.outcome(
        table, key, result.status, clock.now(), result.segments, result.provider_id, result.error
    )


def settle_late(pending: Pending, failed: list[int]) -> None:
    """Statuses whose condition failed: the claim was settled without us. One a settlement marked
    `unknown` (the deployment finished, or the claim looked lost) gets its real outcome, its count
    moving from unsent; a claim given back unsent that a settlement marked `unknown` fails, costing
    nothing; anything else is dropped with its count (a give-back of a claim settled otherwise)."""
    for index in reversed(failed):
        update = pending.updates[index]
        name = sends.item_name(update)
        counted = pending.counted.pop(name, None)
        status = sends.status_now(update)
        if counted is not None and status == Delivery.UNKNOWN and not counted.late:
            sends.outcome_over_unknown(update)
            counted.add_to(pending.tally, tally.unsent_beside(counted.col), -1)
            pending.counted[name] = counted._replace(late=True)
            if counted.deployment is not None:  # its settlement counted it processed (and failed) already
                _count(pending, counted.company, counted.deployment, processed=-1, failed_count=-1)
                _count(pending, counted.company, counted.deployment, unknown_count=-1)
            continue
        if name in pending.given_back and status == Delivery.UNKNOWN:
            pending.given_back.discard(name)
            reason = "not sent: the deployment stopped before reaching this recipient"
            pending.updates[index] = sends.unsent_over_unknown(update, reason)
            deployment = sends.deployment_of(update)
            if deployment is not None:  # still counted failed (as unknown was), no longer unknown
                _count(pending, _company_of(pending, deployment), deployment, unknown_count=-1)
            continue
        del pending.updates[index]
        if counted is not None:
            counted.add_to(pending.tally, counted.col, -1)
            if counted.late:
                counted.add_to(pending.tally, tally.unsent_beside(counted.col), 1)
        logger.warning("a status settled elsewhere was dropped", item=name, status=status)


def _count(pending: Pending, company: int, deployment: int, **changes: int) -> None:
    counts = pending.counts.setdefault((company, deployment), {})
    for name, n in changes.items():
        counts[name] = counts.get(name, 0) + n


def _company_of(pending: Pending, deployment: int) -> int:
    """The company of a deployment this flush writes for."""
    return next(company for company, d in pending.rounds if d == deployment)


def deployment_updates(pending: Pending, require_sending: bool, level: str) -> list[dict[str, Any]]:
    """Counter updates for each deployment, conditional on its round (and, with claims, on its
    sending) when `level` is STRICT, on its not being settled when LOOSE; none when NONE."""
    if level == NONE or (level == SETTLED and not pending.updates):
        return []
    if level == SETTLED:
        at = clock.iso(clock.now())
        return [sends.recount_due(company, deployment, at, FINAL) for company, deployment in pending.rounds]
    updates = []
    for (company, deployment), round_ in pending.rounds.items():
        counts = pending.counts.get((company, deployment), {})
        progress_at = int(clock.now().timestamp())
        statuses = (SENDING,) if level == STRICT and require_sending else (SENDING, PAUSED)
        updates.append(
            sends.deployment_counts(
                company, deployment, counts, progress_at, statuses, round_ if level == STRICT else None
            )
        )
    return updates
