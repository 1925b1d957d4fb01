"""Starting, fanning out, pausing, resuming and finishing deployments.

The launcher runs every minute: it reads the sparse launch index (approved or paused deployments
whose time has come, and those sending), starts each with one conditional write (so overlapping runs
cannot start one twice), and finishes the ones whose recipients are all done (or that stalled).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import messages
from chalicelib.domain import clock, lifecycle
from chalicelib.domain.audience import text_for
from chalicelib.domain.auth import Caller
from chalicelib.domain.deployments import get, unchanged_meanwhile
from chalicelib.domain.errors import Conflict
from chalicelib.domain.lifecycle import APPROVED, FAILED, PAUSED, SENDING, SENT
from chalicelib.domain.quiet_hours import is_permitted, next_opening
from chalicelib.domain.segments import cost
from chalicelib.domain.templates import compile_template
from chalicelib.log import logger
from chalicelib.models import batch
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.models.uniques import Unique

DUE, ACTIVE = "due", "sending"
CHUNK = 100
FANOUT_PAGE = 2000
STALL_SECONDS = 600


def launch_due(now: datetime | None = None) -> dict[str, int]:
    """The every-minute run: start what is due, finish what is done. Returns what it did."""
    now = now or clock.now()
    counts = {"launched": 0, "waiting": 0, "finished": 0}
    for deployment in Deployment.by_launch.query(DUE, Deployment.launch_at <= clock.iso(now)):
        counts[launch(deployment, now)] += 1
    for deployment in Deployment.by_launch.query(ACTIVE):
        if finish_if_done(deployment, now):
            counts["finished"] += 1
    if any(counts.values()):
        logger.info("launcher ran", **counts)
    return counts


def launch(deployment: Deployment, now: datetime) -> str:
    """Start (or resume) a deployment, unless its marketing hours are closed: then wait for them."""
    company = Company.get(deployment.company)
    if (
        deployment.marketing
        and company.quiet_hours
        and not is_permitted(now, company.timezone, company.default_region)
    ):
        opening = clock.iso(next_opening(now, company.timezone, company.default_region))
        if deployment.launch_at != opening:
            deployment.update(
                actions=[Deployment.launch_at.set(opening)], condition=Deployment.launch_queue == DUE
            )
        return "waiting"
    round_ = deployment.round + 1
    try:
        deployment.update(
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
            condition=Deployment.status.is_in(APPROVED, PAUSED)
            & (Deployment.launch_queue == DUE)
            & (Deployment.round == deployment.round),
        )
    except Exception as error:
        if condition_failed(error):
            return "waiting"
        raise
    messages.enqueue(
        messages.FanOut(company=deployment.company, deployment=deployment.id, round=round_, after="")
    )
    logger.info("deployment launched", deployment=deployment.id, round=round_)
    return "launched"


def fan_out(step: messages.FanOut) -> None:
    """Turn the next page of queued recipients into SendChunks of about a hundred, ten to a batch.

    A redelivered step finds its guard and only passes the baton on again; the chunks it may have sent
    twice are harmless (every recipient is claimed before it is sent).
    """
    deployment = Deployment.get(step.company, step.deployment, consistent_read=True)
    if deployment.status != SENDING or deployment.round != step.round:
        return
    guard_key = f"fanout#{deployment.id}#{step.round}#{step.after}"
    guard = Unique.get_or_none(guard_key, consistent_read=True)
    if guard is not None:
        _pass_on(step, guard.owner)
        return
    page = []
    after = Recipient.msisdn > step.after if step.after else None
    for recipient in Recipient.query(
        deployment.id, after, filter_condition=Recipient.status == "queued", page_size=FANOUT_PAGE
    ):
        page.append(recipient)
        if len(page) == FANOUT_PAGE:
            break
    messages.enqueue_many(
        [_chunk(deployment, step.round, page[i : i + CHUNK]) for i in range(0, len(page), CHUNK)]
    )
    cursor = page[-1].msisdn if len(page) == FANOUT_PAGE else ""
    with transaction() as write:
        write.save(Unique(key=guard_key, owner=cursor), condition=Unique.key.does_not_exist())
        write.update(
            deployment,
            actions=[
                Deployment.expected.add(len(page)),
                *([] if cursor else [Deployment.fanout_done.set(1)]),
            ],
            condition=Deployment.round == step.round,
        )
    _pass_on(step, cursor)


def _pass_on(step: messages.FanOut, cursor: str) -> None:
    if cursor:
        messages.enqueue(
            messages.FanOut(company=step.company, deployment=step.deployment, round=step.round, after=cursor)
        )


def _chunk(deployment: Deployment, round_: int, page: list[Recipient]) -> messages.SendChunk:
    return messages.SendChunk(
        company=deployment.company,
        deployment=deployment.id,
        round=round_,
        chunk=f"{round_}:{page[0].msisdn}",
        marketing=deployment.marketing,
        sender=deployment.frozen_sender or "",
        message=deployment.message or "",
        optout_text=deployment.frozen_optout_text or "",
        recipients=[_values(r) for r in page],
    )


def _values(recipient: Recipient) -> dict[str, Any]:
    values: dict[str, Any] = {"msisdn": recipient.msisdn}
    for name in ("first_name", "last_name", "email", "message"):
        if getattr(recipient, name):
            values[name] = getattr(recipient, name)
    if recipient.fields:
        values["fields"] = recipient.fields.as_dict()
    return values


def finish_if_done(deployment: Deployment, now: datetime) -> bool:
    """Finish a sending deployment once every recipient fanned out has a status, or once it has made
    no progress for ten minutes (a chunk that went to the dead-letter queue, a worker that died)."""
    if deployment.status != SENDING or not deployment.fanout_done:
        return False
    stalled = now.timestamp() - (deployment.last_progress or 0) > STALL_SECONDS
    if deployment.processed < deployment.expected and not stalled:
        return False
    finish(deployment)
    return True


def finish(deployment: Deployment, final: int | None = None) -> None:
    """Settle a deployment from its recipients: recipients never sent fail (and cost nothing), those
    left `sending` by a crash are `unknown` (and cost what they would have), the unused reservation
    goes back to the company, and `total_credits` becomes what was used. Safe to run twice."""
    template = compile_template(deployment.message or "")
    totals = {"sent": 0, "failed": 0, "opted_out": 0, "unknown": 0, "used": 0}
    leftovers = []
    for recipient in Recipient.query(deployment.id, consistent_read=True):
        # A receipt can also name an SMS whose status write a crash lost: it was sent, and costs.
        lost_write = recipient.receipt is not None and recipient.segments is None
        if recipient.status in ("queued", "sending") or lost_write:
            if recipient.status == "queued":
                recipient.status = "failed"
                recipient.error = "not sent: the deployment stopped before reaching this recipient"
            else:
                recipient.status = "unknown" if recipient.status == "sending" else recipient.status
                recipient.segments = cost(
                    text_for(template, deployment.frozen_optout_text or None, recipient)
                ).segments
            leftovers.append(recipient.serialize())
        status = recipient.status if recipient.status in totals else "sent"
        totals[status] += 1
        if recipient.status in ("sent", "delivered", "unknown") or recipient.receipt:
            totals["used"] += recipient.segments or 0
    batch.write_items(Recipient.Meta.table_name, leftovers)
    used = min(totals["used"], deployment.reserved) if deployment.reserved else totals["used"]
    refund = deployment.reserved - used
    if final is None:
        nothing_sent = totals["sent"] == 0 and totals["failed"] + totals["unknown"] > 0
        final = FAILED if deployment.error or nothing_sent else SENT
    with unchanged_meanwhile(), transaction() as write:
        write.update(
            deployment,
            actions=[
                Deployment.status.set(final),
                Deployment.total_credits.set(used),
                Deployment.reserved.set(0),
                Deployment.credits_used.set(used),
                Deployment.sent_count.set(totals["sent"]),
                Deployment.failed_count.set(totals["failed"] + totals["unknown"]),
                Deployment.blocked_count.set(totals["opted_out"]),
                Deployment.launch_queue.remove(),
                Deployment.launch_at.remove(),
                Deployment.date_finished.set(clock.now()),
                Deployment.date_updated.set(clock.now()),
            ],
            condition=(Deployment.status == deployment.status) & (Deployment.round == deployment.round),
        )
        if refund:
            write.update(
                Company(id=deployment.company),
                actions=[Company.credits.add(refund)],
                condition=Company.id.exists(),
            )
    logger.info(
        "deployment finished",
        deployment=deployment.id,
        status=lifecycle.NAMES[final],
        used=used,
        refunded=refund,
        **{k: v for k, v in totals.items() if k != "used"},
    )


def pause_now(caller: Caller, deployment_id: int) -> Deployment:
    """Stop a sending deployment by hand; chunks in flight see it at their next group."""
    deployment = get(caller, deployment_id)
    if deployment.status != SENDING:
        raise Conflict(
            f"Only a sending deployment can be paused; this one is {lifecycle.NAMES[deployment.status]}.",
            code="illegal_transition",
        )
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
    if deployment.status != PAUSED:
        raise Conflict(
            f"Only a paused deployment can be resumed; this one is {lifecycle.NAMES[deployment.status]}.",
            code="illegal_transition",
        )
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
