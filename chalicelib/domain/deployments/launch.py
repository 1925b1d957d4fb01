"""Starting, fanning out, pausing, resuming and finishing deployments.

The launcher runs every minute: it reads the sparse launch index (approved or paused deployments
whose time has come, and those sending), starts each with one conditional write (so overlapping runs
cannot start one twice), and finishes the ones whose recipients are all done (or that stalled).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.contacts.audience import text_for
from chalicelib.domain.deployments.drafts import get, unchanged_meanwhile
from chalicelib.domain.errors import Conflict
from chalicelib.domain.rules import lifecycle
from chalicelib.domain.rules.lifecycle import APPROVED, FAILED, PAUSED, SENDING, SENT
from chalicelib.domain.rules.quiet_hours import is_permitted, next_opening
from chalicelib.domain.rules.segments import cost
from chalicelib.domain.rules.templates import Template, compile_template
from chalicelib.domain.stats import rollup
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.models.uniques import Unique

DUE, ACTIVE = "due", "sending"
CHUNK = 100
CHUNK_BYTES = 200_000  # an SQS message holds 256 KiB
FANOUT_PAGE = 2000
CLAIM_EXPIRY_SECONDS = 960  # the send worker's Lambda timeout (900 s) and a margin: no claimer lives longer
RECOVER_AFTER_SECONDS = 900  # idle this long: look for claims of dead workers (at most this often)
STALL_SECONDS = 86_400  # idle a whole day: finish anyway


def launch_due(now: datetime | None = None) -> dict[str, int]:
    """The every-minute run: start what is due, finish what is done. Returns what it did."""
    now = now or clock.now()
    counts = {"launched": 0, "waiting": 0, "finished": 0}
    for deployment in Deployment.by_launch.query(DUE, Deployment.launch_at <= clock.iso(now)):
        with _one_of_many(deployment):
            counts[launch(deployment, now)] += 1
    for deployment in Deployment.by_launch.query(ACTIVE):
        with _one_of_many(deployment):
            counts["finished"] += finish_if_done(deployment, now)
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
    tally = rollup.Tally()
    if deployment.date_sent is None and deployment.opted_out:
        # Opted out at approval: counted once, when the deployment first goes out.
        tally.add(deployment.company, deployment.id, now, company.timezone, "optout", deployment.opted_out)
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
                condition=Deployment.status.is_in(APPROVED, PAUSED)
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


def fan_out(step: queue_messages.FanOut) -> None:
    """Turn the next page of queued recipients into SendChunks of about a hundred, ten to a batch.

    The page is counted into `expected` (with a guard naming where it ends) before its chunks are
    queued, so a retried step counts nothing twice and misses nobody: it finds the guard and queues
    again whoever in that page is still queued (a recipient in two chunks is still claimed only once).
    """
    deployment = Deployment.get(step.company, step.deployment, consistent_read=True)
    if deployment.status != SENDING or deployment.round != step.round:
        return
    guard_key = f"fanout#{deployment.id}#{step.round}#{step.after}"
    guard = Unique.get_or_none(guard_key, consistent_read=True)
    if guard is None:
        page = _queued(deployment.id, step.after, until=None)
        cursor = page[-1].msisdn if len(page) == FANOUT_PAGE else ""
        try:
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
        except TransactWriteError as error:
            if not condition_failed(error):
                raise
            fan_out(step)  # a twin step got there first, or the round is over: look again
            return
    elif Unique.get_or_none(f"{guard_key}#queued", consistent_read=True) is None:
        cursor = guard.owner
        page = _queued(deployment.id, step.after, until=cursor or None)
    else:
        _pass_on(step, guard.owner)
        return
    queue_messages.enqueue_many(_chunks(deployment, step.round, page))
    Unique(key=f"{guard_key}#queued", owner=cursor).save()
    _pass_on(step, cursor)


def _queued(deployment_id: int, after: str, until: str | None) -> list[Recipient]:
    """Up to FANOUT_PAGE queued recipients after `after` (and up to `until`, when given), in order."""
    page = []
    for recipient in Recipient.query(
        deployment_id,
        Recipient.msisdn > after if after else None,
        filter_condition=Recipient.status == "queued",
        consistent_read=True,
        page_size=FANOUT_PAGE,
    ):
        if until is not None and recipient.msisdn > until:
            break
        page.append(recipient)
        if len(page) == FANOUT_PAGE:
            break
    return page


def _pass_on(step: queue_messages.FanOut, cursor: str) -> None:
    if cursor:
        queue_messages.enqueue(
            queue_messages.FanOut(
                company=step.company, deployment=step.deployment, round=step.round, after=cursor
            )
        )


def _chunks(deployment: Deployment, round_: int, page: list[Recipient]) -> list[queue_messages.SendChunk]:
    """At most CHUNK recipients a chunk, and few enough bytes for an SQS message however long their
    personal fields and texts are."""
    chunks, values, size = [], [], 0
    for recipient in page:
        value = _values(recipient)
        length = len(json.dumps(value, ensure_ascii=False).encode())
        if values and (len(values) == CHUNK or size + length > CHUNK_BYTES):
            chunks.append(_chunk(deployment, round_, values))
            values, size = [], 0
        values.append(value)
        size += length
    if values:
        chunks.append(_chunk(deployment, round_, values))
    return chunks


def _chunk(deployment: Deployment, round_: int, values: list[dict[str, Any]]) -> queue_messages.SendChunk:
    return queue_messages.SendChunk(
        company=deployment.company,
        deployment=deployment.id,
        round=round_,
        chunk=f"{round_}:{values[0]['msisdn']}",
        marketing=deployment.marketing,
        sender=deployment.frozen_sender or "",
        message=deployment.message or "",
        optout_text=deployment.frozen_optout_text or "",
        recipients=values,
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
    """Finish a sending deployment once every recipient fanned out has a status. One idle for a while
    first gets back the claims of dead workers (they become `unknown`); one idle for a day is finished
    anyway (its unsent recipients fail and are refunded). Chunks waiting behind other work are not idle
    for long enough to be mistaken for lost."""
    if deployment.status != SENDING or not deployment.fanout_done:
        return False
    idle = now.timestamp() - (deployment.last_progress or 0)
    lost = deployment.processed < deployment.expected and idle > RECOVER_AFTER_SECONDS
    if lost and recover_lost_claims(deployment, now):
        deployment = Deployment.get(deployment.company, deployment.id, consistent_read=True)
    if deployment.processed < deployment.expected and idle <= STALL_SECONDS:
        return False
    try:
        finish(deployment)
    except Conflict:
        return False  # another run finished it (or it was paused, cancelled or resumed) meanwhile
    return True


def recover_lost_claims(deployment: Deployment, now: datetime) -> int:
    """Recipients a dead worker left `sending` (claimed longer ago than any worker lives) become
    `unknown`: charged, never resent. Returns how many of the current round it counted as processed."""
    if now.timestamp() - (deployment.last_recovery or 0) < RECOVER_AFTER_SECONDS:
        return 0
    deployment.update(actions=[Deployment.last_recovery.set(int(now.timestamp()))])
    before = int(now.timestamp()) - CLAIM_EXPIRY_SECONDS
    tz = Company.get(deployment.company).timezone
    counted = 0
    lost = (Recipient.status == "sending") & (Recipient.claimed_at < before)
    for recipient in Recipient.query(deployment.id, filter_condition=lost, consistent_read=True):
        tally = rollup.Tally()
        tally.add(deployment.company, deployment.id, rollup.from_epoch(recipient.claimed_at), tz, "unsent")
        if _counted_update(recipient, [Recipient.status.set("unknown")], "sending", tally):
            counted += recipient.claim_round == deployment.round
    sent = 0
    unwritten = _receipt_without_outcome() & (Recipient.claimed_at < before)
    for recipient in Recipient.query(deployment.id, filter_condition=unwritten, consistent_read=True):
        if _count_receipted(recipient, deployment.company, tz):
            sent += recipient.claim_round == deployment.round
    if counted or sent:
        deployment.update(
            actions=[
                Deployment.processed.add(counted + sent),
                Deployment.failed_count.add(counted),
                Deployment.sent_count.add(sent),
            ],
            condition=Deployment.round == deployment.round,
        )
    logger.warning("lost claims recovered", deployment=deployment.id, counted=counted, receipted=sent)
    return counted + sent


def _receipt_without_outcome():
    """Claims a receipt reached before their sender wrote the outcome (which stamps `date_sent`)."""
    return (
        Recipient.receipt.exists()
        & Recipient.date_sent.does_not_exist()
        & (Recipient.status != "sending")
        & Recipient.claimed_at.exists()
    )


def _count_receipted(recipient: Recipient, company: int, tz: str) -> bool:
    """A claim whose sender died after the network took it (a receipt says so): count it as the sender
    would have (sent, in its hour; the receipt moved it from there) and stamp it so nobody counts it again."""
    claimed = rollup.from_epoch(recipient.claimed_at)
    tally = rollup.Tally()
    tally.add(company, recipient.deployment, claimed, tz, "sent")
    return _counted_update(
        recipient,
        [Recipient.date_sent.set(claimed)],
        recipient.status,
        tally,
        extra=Recipient.date_sent.does_not_exist(),
    )


def give_up_chunk(chunk: queue_messages.SendChunk, reason: str) -> None:
    """A chunk that failed on its last attempt: its recipients nobody claimed fail (costing nothing)
    and count as processed, so the deployment can finish; any a worker holds are recovered later."""
    failed = _fail_unclaimed(chunk.company, chunk.deployment, [r["msisdn"] for r in chunk.recipients], reason)
    _count_given_up(chunk.company, chunk.deployment, chunk.round, failed, "processed", reason)
    logger.error("send chunk given up", deployment=chunk.deployment, failed=failed, reason=reason)


def give_up_fan_out(step: queue_messages.FanOut, reason: str) -> None:
    """A fan-out step that failed on its last attempt: the page it counted but never queued fails, and
    the deployment finishes with what was queued (whoever was never reached fails, and is refunded)."""
    guard_key = f"fanout#{step.deployment}#{step.round}#{step.after}"
    guard = Unique.get_or_none(guard_key, consistent_read=True)
    failed = 0
    if guard is not None and Unique.get_or_none(f"{guard_key}#queued", consistent_read=True) is None:
        page = _queued(step.deployment, step.after, until=guard.owner or None)
        failed = _fail_unclaimed(step.company, step.deployment, [r.msisdn for r in page], reason)
    _count_given_up(step.company, step.deployment, step.round, failed, "started", reason)
    logger.error("fan-out given up", deployment=step.deployment, failed=failed, reason=reason)


def _fail_unclaimed(company: int, deployment_id: int, numbers: list[str], reason: str) -> int:
    """Fail each of `numbers` that is still queued (counted as unsent now); returns how many."""
    tz = Company.get(company).timezone
    failed = 0
    for number in numbers:
        now = clock.now()
        tally = rollup.Tally()
        tally.add(company, deployment_id, now, tz, "unsent")
        actions = [
            Recipient.status.set("failed"),
            Recipient.error.set(f"not sent: {reason}"[:500]),
            Recipient.claimed_at.set(rollup.epoch(now)),
        ]
        failed += _counted_update(
            Recipient(deployment=deployment_id, msisdn=number), actions, "queued", tally
        )
    return failed


def _counted_update(
    recipient: Recipient, actions: list, expect: str, tally: rollup.Tally, extra: Any = None
) -> bool:
    """Change a recipient still in status `expect` (and meeting `extra`), and its hour's counts, in one
    transaction; False when it had moved on (a worker got there first)."""
    condition = Recipient.status == expect if extra is None else (Recipient.status == expect) & extra
    try:
        with transaction() as write:
            write.update(recipient, actions=actions, condition=condition)
            tally.write_into(write)
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _count_given_up(
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


def finish(deployment: Deployment, final: int | None = None) -> None:
    """Settle a deployment from its recipients: recipients never sent fail (and cost nothing), those
    left `sending` by a crash are `unknown` (and cost what they would have), the unused reservation
    goes back to the company, and `total_credits` becomes what was used (never more than reserved).
    Each leftover changes only from the status it was read in, so a worker still at work wins. Only a
    sending or paused deployment is settled: one settled already keeps what it was settled to."""
    if deployment.status not in (SENDING, PAUSED):
        return
    template = compile_template(deployment.message or "")
    totals = {"sent": 0, "failed": 0, "opted_out": 0, "unknown": 0, "used": 0}
    tz = Company.get(deployment.company).timezone
    for recipient in Recipient.query(deployment.id, consistent_read=True):
        recipient = _settled(
            recipient, template, deployment.frozen_optout_text or None, deployment.company, tz
        )
        status = recipient.status if recipient.status in totals else "sent"
        totals[status] += 1
        if recipient.status in ("sent", "delivered", "unknown") or recipient.receipt:
            totals["used"] += recipient.segments or 0
    used = min(totals["used"], deployment.reserved or 0)
    if totals["used"] > used:
        logger.error("a deployment used more than it reserved", deployment=deployment.id, used=totals["used"])
    refund = (deployment.reserved or 0) - used
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


def _settled(
    recipient: Recipient, template: Template, optout_text: str | None, company: int, tz: str
) -> Recipient:
    """The recipient with a final status: queued → failed, sending → unknown (each counted as unsent),
    and a cost for every one that reached (or may have reached) the network; re-read if a worker
    changed it meanwhile."""
    while True:
        actions = []
        tally = rollup.Tally()
        if recipient.status == "queued":
            now = clock.now()
            actions = [
                Recipient.status.set("failed"),
                Recipient.error.set("not sent: the deployment stopped before reaching this recipient"),
                Recipient.claimed_at.set(rollup.epoch(now)),
            ]
            tally.add(company, recipient.deployment, now, tz, "unsent")
        elif recipient.status in ("sending", "unknown") or (recipient.receipt and recipient.segments is None):
            if recipient.status == "sending":
                actions.append(Recipient.status.set("unknown"))
                claimed = rollup.from_epoch(recipient.claimed_at) if recipient.claimed_at else clock.now()
                tally.add(company, recipient.deployment, claimed, tz, "unsent")
            if recipient.segments is None:
                segments = cost(text_for(template, optout_text, recipient)).segments
                actions.append(Recipient.segments.set(segments))
        extra = None
        if recipient.receipt and recipient.date_sent is None and recipient.status != "sending":
            claimed = rollup.from_epoch(recipient.claimed_at) if recipient.claimed_at else clock.now()
            actions.append(Recipient.date_sent.set(claimed))  # its sender never wrote: count it here
            tally.add(company, recipient.deployment, claimed, tz, "sent")
            extra = Recipient.date_sent.does_not_exist()
        if not actions:
            return recipient
        if _counted_update(recipient, actions, recipient.status, tally, extra):
            return Recipient.get(recipient.deployment, recipient.msisdn, consistent_read=True)
        recipient = Recipient.get(recipient.deployment, recipient.msisdn, consistent_read=True)


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
