"""Chunks given up: their recipients nobody claimed fail (costing nothing) and count as processed, so
the deployment can finish; any a worker holds are recovered by the settlement later."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.callbacks.recipient_reports import reporting_for
from chalicelib.domain.deployments.settlement import counted_update
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.domain.stats import periods
from chalicelib.domain.stats.tally import Tally, column
from chalicelib.log import logger
from chalicelib.models.base import condition_failed
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient


def give_up_chunk(chunk: queue_messages.SendChunk, reason: str) -> None:
    """A chunk that failed on its last attempt: its recipients nobody claimed fail (costing nothing)
    and count as processed, so the deployment can finish; any a worker holds are recovered later."""
    unclaimed = [(r["msisdn"], r.get("channel"), r.get("campaign")) for r in chunk.recipients]
    failed = fail_unclaimed(chunk.company, chunk.deployment, unclaimed, reason)
    count_given_up(chunk.company, chunk.deployment, chunk.round, failed, "processed", reason)
    logger.error("send chunk given up", deployment=chunk.deployment, failed=failed, reason=reason)


def fail_unclaimed(
    company: int,
    deployment_id: int,
    recipients: list[tuple[str, str | None, int | None]],
    reason: str,
) -> int:
    """Fail each of `recipients` (key, channel, campaign) that is still queued (counted as unsent now);
    returns how many."""
    tz = Company.get(company).timezone
    reporting = reporting_for(company)
    failed = 0
    for number, channel, campaign in recipients:
        now = clock.now()
        tally = Tally()
        tally.add(company, deployment_id, now, tz, column(Delivery.FAILED, channel), 1, campaign)
        actions = [
            Recipient.status.set(Delivery.FAILED),
            Recipient.error.set(f"not sent: {reason}"[:500]),
            Recipient.claimed_at.set(periods.epoch(now)),
            Recipient.seq.add(1),
        ]
        failed += counted_update(
            Recipient(deployment=deployment_id, msisdn=number),
            actions,
            Delivery.QUEUED,
            tally,
            reporting=reporting,
        )
    if reporting is not None:
        reporting.flush()
    return failed


def count_given_up(
    company: int, deployment_id: int, round_: int, failed: int, what: str, reason: str
) -> None:
    """Say so on the deployment, count what failed as processed (this round only), and for a fan-out
    step, let the deployment finish without the pages it never reached."""
    error_text = f"Part of the send could not be {what} ({reason})."
    actions = [
        Deployment.error.set(error_text),
        Deployment.processed.add(failed),
        Deployment.failed_count.add(failed),
    ]
    if what == "started":
        actions.append(Deployment.fanout_done.set(1))
    try:
        Deployment(company=company, id=deployment_id).update(
            actions=actions, condition=Deployment.round == round_
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        Deployment(company=company, id=deployment_id).update(actions=[Deployment.error.set(error_text)])
