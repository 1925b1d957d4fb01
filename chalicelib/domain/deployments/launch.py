"""Starting, fanning out, pausing, resuming and finishing deployments.

The launcher runs every minute: it reads the sparse launch index (approved or paused deployments
whose time has come, and those sending), starts each with one conditional write (so overlapping runs
cannot start one twice), and finishes the ones whose recipients are all done (or that stalled).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.deployments import final_counts, settlement
from chalicelib.domain.deployments.store import get, unchanged_meanwhile
from chalicelib.domain.rules import lifecycle
from chalicelib.domain.rules.lifecycle import PAUSED, SENDING
from chalicelib.domain.rules.quiet_hours import marketing_may_go, next_opening
from chalicelib.domain.stats.tally import Tally
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment
from chalicelib.models.sends import RECOUNT

DUE, ACTIVE = "due", "sending"


def launch_due(now: datetime | None = None) -> dict[str, int]:
    """The every-minute run: start what is due, finish what is done. Returns what it did."""
    now = now or clock.now()
    counts = {"launched": 0, "waiting": 0, "finished": 0, "recounted": 0}
    for deployment in Deployment.by_launch.query(DUE, Deployment.launch_at <= clock.iso(now)):
        with _one_of_many(deployment):
            counts[launch(deployment, now)] += 1
    for deployment in Deployment.by_launch.query(ACTIVE):
        with _one_of_many(deployment):
            counts["finished"] += settlement.finish_if_done(deployment, now)
    for deployment in Deployment.by_launch.query(RECOUNT):  # marked by a worker that died before it
        with _one_of_many(deployment):
            final_counts.recount(deployment.company, deployment.id)
            counts["recounted"] += 1
    if any(counts.values()):
        logger.info("launcher ran", **counts)
    return counts


@contextlib.contextmanager
def _one_of_many(deployment: Deployment) -> Iterator[None]:
    """One deployment's trouble is logged, and the launcher's run goes on with the others."""
    try:
        yield
    except Exception:
        logger.exception("launcher could not handle a deployment", deployment=deployment.id)


def launch(deployment: Deployment, now: datetime) -> str:
    """Start (or resume) a deployment, unless its marketing hours are closed: then wait for them."""
    company = Company.get(deployment.company)
    if deployment.marketing and not marketing_may_go(company, "sms", now):
        opening = clock.iso(next_opening(now, company.timezone, company.default_region))
        if deployment.launch_at != opening:
            deployment.update(
                actions=[Deployment.launch_at.set(opening)], condition=Deployment.launch_queue == DUE
            )
        return "waiting"
    round_ = deployment.round + 1
    tally = Tally()
    if deployment.date_sent is None and deployment.opted_out:
        # Opted out at approval: counted once, when the deployment first goes out.
        emails = deployment.email_opted_out or 0
        for col, n in (("optout", deployment.opted_out - emails), ("email_optout", emails)):
            if n:
                tally.add(
                    deployment.company,
                    deployment.id,
                    now,
                    company.timezone,
                    col,
                    n,
                    deployment.linked_campaign,
                )
    try:
        with transaction() as write:
            write.update(
                deployment,
                actions=[
                    Deployment.status.set(SENDING),
                    Deployment.round.set(round_),
                    Deployment.expected.set(0),
                    Deployment.processed.set(0),
                    Deployment.fanout_done.set(0),
                    Deployment.launch_queue.set(ACTIVE),
                    Deployment.launch_at.set(clock.iso(now)),
                    Deployment.last_progress.set(int(now.timestamp())),
                    Deployment.date_updated.set(now),
                    *([Deployment.date_sent.set(now)] if deployment.date_sent is None else []),
                ],
                condition=Deployment.status.is_in(*lifecycle.MOVES["start"])
                & (Deployment.launch_queue == DUE)
                & (Deployment.round == deployment.round),
            )
            tally.write_into(write)
    except Exception as error:
        if condition_failed(error):
            return "waiting"
        raise
    queue_messages.enqueue(
        queue_messages.FanOut(company=deployment.company, deployment=deployment.id, round=round_, after="")
    )
    logger.info("deployment launched", deployment=deployment.id, round=round_)
    return "launched"


def pause_now(caller: Caller, deployment_id: int) -> Deployment:
    """Stop a sending deployment by hand; chunks in flight see it at their next group."""
    deployment = get(caller, deployment_id)
    lifecycle.move("pause", deployment.status)
    with unchanged_meanwhile():
        deployment.update(
            actions=[
                Deployment.status.set(PAUSED),
                Deployment.launch_queue.remove(),
                Deployment.launch_at.remove(),
                Deployment.date_updated.set(clock.now()),
            ],
            condition=Deployment.status == SENDING,
        )
    return get(caller, deployment_id)


def resume_now(caller: Caller, deployment_id: int) -> Deployment:
    """Put a paused deployment back in line; the launcher starts it at once (or when hours open)."""
    deployment = get(caller, deployment_id)
    lifecycle.move("resume", deployment.status)
    with unchanged_meanwhile():
        deployment.update(
            actions=[
                Deployment.launch_queue.set(DUE),
                Deployment.launch_at.set(clock.iso(clock.now())),
                Deployment.date_updated.set(clock.now()),
            ],
            condition=Deployment.status == PAUSED,
        )
    launch(Deployment.get(caller.company, deployment_id, consistent_read=True), clock.now())
    return get(caller, deployment_id)


def pause(company_id: int, deployment_id: int, company: Company) -> None:
    """Outside permitted hours: a sending marketing deployment pauses until they open again."""
    opening = next_opening(clock.now(), company.timezone, company.default_region)
    try:
        Deployment(company=company_id, id=deployment_id).update(
            actions=[
                Deployment.status.set(PAUSED),
                Deployment.launch_queue.set("due"),
                Deployment.launch_at.set(clock.iso(opening)),
                Deployment.date_updated.set(clock.now()),
            ],
            condition=Deployment.status == SENDING,
        )
        logger.info("deployment paused until hours open", deployment=deployment_id, resume=clock.iso(opening))
    except UpdateError as error:
        if not condition_failed(error):
            raise
