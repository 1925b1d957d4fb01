"""A final deployment's counts as its recipients say them: what settlement writes, what a late outcome
corrects (a status that changed after the settlement), and what `stats verify` checks."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import clock
from chalicelib.domain.credits import refund
from chalicelib.domain.rules.lifecycle import CANCELLED, CHARGED, FAILED, SENT, Delivery
from chalicelib.log import logger
from chalicelib.models.base import CONFLICT_RETRIES, back_off, condition_failed, transaction
from chalicelib.models.deployments import Deployment, Recipient, RecipientState, recipient_states

FINAL = (SENT, FAILED, CANCELLED)


@dataclass
class Totals:
    """Recipients counted by status (failed holds the unknown ones) and the credits their statuses cost."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    opted_out: int = 0
    delivered: int = 0
    used: int = 0

    def add(self, recipient: Recipient | RecipientState) -> None:
        status = recipient.status
        if status == Delivery.OPTED_OUT:
            self.opted_out += 1
        elif status in (Delivery.FAILED, Delivery.UNKNOWN):
            self.failed += 1
            self.unknown += status == Delivery.UNKNOWN
        elif status not in (Delivery.QUEUED, Delivery.SENDING):
            self.sent += 1
            self.delivered += status == Delivery.DELIVERED
        if status in CHARGED or recipient.receipt:
            self.used += recipient.segments or 0

    def counters(self) -> dict[str, int]:
        """The deployment's counter attributes these totals give (credits apart)."""
        return {
            "sent_count": self.sent,
            "failed_count": self.failed,
            "unknown_count": self.unknown,
            "blocked_count": self.opted_out,
            "delivered_count": self.delivered,
        }


def totals_of(recipients: Iterable[Recipient | RecipientState]) -> Totals:
    totals = Totals()
    for recipient in recipients:
        totals.add(recipient)
    return totals


def differences(deployment: Deployment, recipients: Iterable[Recipient] | None = None) -> list[str]:
    """How a final deployment's counters and credits differ from what its recipients (read unless
    given) say; empty when they agree or the deployment is not final yet."""
    if deployment.status not in FINAL:
        return []
    totals = totals_of(recipient_states(deployment.id) if recipients is None else recipients)
    found = [
        f"deployment {deployment.id}: {name} is {getattr(deployment, name) or 0} but its recipients say {n}"
        for name, n in totals.counters().items()
        if (getattr(deployment, name) or 0) != n
    ]
    went_out = deployment.date_sent is not None  # one cancelled before it went out cost nothing
    for name in ("total_credits", "credits_used") if went_out else ():
        if (getattr(deployment, name) or 0) != totals.used:
            found.append(
                f"deployment {deployment.id}: {name} is {getattr(deployment, name) or 0} "
                f"but its recipients' statuses cost {totals.used}"
            )
    if deployment.reserved:
        found.append(f"deployment {deployment.id}: {deployment.reserved} credits still reserved")
    return found


def _unchanged(attribute: Any, value: int | None) -> Any:
    """`attribute` still holds `value` (a zero or none may be stored as no attribute at all)."""
    return attribute == value if value else (attribute == 0) | attribute.does_not_exist()


def recount(company: int, deployment_id: int) -> None:
    """Bring a settled deployment's counts back in line with its recipients after a status changed late
    (a claim settled `unknown` that was sent, or given back unsent); credits its statuses no longer
    cost go back to the company, once (each recount lands only on the figures it read)."""
    for attempt in range(CONFLICT_RETRIES):
        deployment = Deployment.get_or_none(company, deployment_id, consistent_read=True)
        if deployment is None or deployment.status not in FINAL:
            return
        totals = totals_of(recipient_states(deployment_id))
        charged = min(totals.used, deployment.credits_used or 0)  # never more than was taken
        returned = (deployment.credits_used or 0) - charged
        counters = [getattr(Deployment, name).set(n) for name, n in totals.counters().items()]
        seen = deployment.recounts or 0
        # Lands only on what it read: no receipt moved a counter, no other recount ran, no worker marked
        # it again meanwhile (each would have changed what it must count).
        read = [*totals.counters(), "recounts", "recount_marks", "credits_used"]
        unchanged = [_unchanged(getattr(Deployment, name), getattr(deployment, name)) for name in read]
        try:
            with transaction() as write:
                write.update(
                    deployment,
                    actions=[
                        *counters,
                        Deployment.credits_used.set(charged),
                        Deployment.total_credits.set(charged),
                        Deployment.recounts.set(seen + 1),
                        Deployment.launch_queue.remove(),
                        Deployment.launch_at.remove(),
                        Deployment.date_updated.set(clock.now()),
                    ],
                    condition=functools.reduce(operator.and_, unchanged),
                )
                if returned:
                    refund(write, company, returned)
        except TransactWriteError as error:
            if not condition_failed(error):
                raise
            back_off(attempt)
            continue
        logger.info("a settled deployment recounted", deployment=deployment_id, refunded=returned)
        return
    logger.error("a settled deployment could not be recounted", deployment=deployment_id)
