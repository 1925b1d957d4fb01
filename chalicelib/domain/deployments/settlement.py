"""Settlement: a deployment whose recipients all have a status is finished, claims a crash left behind
become `unknown`, what was not used goes back to the company (chunks given up: `given_up`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock
from chalicelib.domain.callbacks.recipient_reports import Reports, reporting_for, settled_by_settlement
from chalicelib.domain.contacts.audience import text_for
from chalicelib.domain.credits import refund
from chalicelib.domain.deployments.final_counts import Totals
from chalicelib.domain.deployments.quotes import email_price
from chalicelib.domain.deployments.store import unchanged_meanwhile
from chalicelib.domain.errors import Conflict
from chalicelib.domain.rules import lifecycle
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.rules.destinations import unreachable_reason
from chalicelib.domain.rules.lifecycle import FAILED, PAUSED, SENDING, SENT, Delivery
from chalicelib.domain.rules.segments import cost
from chalicelib.domain.rules.templates import Template, compile_template
from chalicelib.domain.stats import periods
from chalicelib.domain.stats.tally import Tally, column
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.batch import READ_BATCH
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient, RecipientState, recipient_states

CLAIM_EXPIRY_SECONDS = 960  # the send worker's Lambda timeout (900 s) and a margin: no claimer lives longer


RECOVER_AFTER_SECONDS = 900  # idle this long: look for claims of dead workers (at most this often)


STALL_SECONDS = 86_400  # idle a whole day: finish anyway


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


def finish_touched(touched: Iterable[tuple[int, int]]) -> None:
    """After a send invocation: finish every deployment (company, id) it touched that is done."""
    for company, deployment_id in touched:
        deployment = Deployment.get_or_none(company, deployment_id, consistent_read=True)
        if deployment is not None:
            finish_if_done(deployment, clock.now())


def recover_lost_claims(deployment: Deployment, now: datetime) -> int:
    """Recipients a dead worker left `sending` (claimed longer ago than any worker lives) become
    `unknown`: charged, never resent. Returns how many of the current round it counted as processed."""
    if now.timestamp() - (deployment.last_recovery or 0) < RECOVER_AFTER_SECONDS:
        return 0
    deployment.update(actions=[Deployment.last_recovery.set(int(now.timestamp()))])
    before = int(now.timestamp()) - CLAIM_EXPIRY_SECONDS
    tz = Company.get(deployment.company).timezone
    counted = unknown = 0
    reporting = reporting_for(deployment.company)
    lost = (Recipient.status == Delivery.SENDING) & (Recipient.claimed_at < before)
    for recipient in Recipient.query(deployment.id, filter_condition=lost, consistent_read=True):
        tally = Tally()
        moment = periods.from_epoch(recipient.claimed_at)
        col = column(Delivery.UNKNOWN, recipient.channel)
        tally.add(deployment.company, deployment.id, moment, tz, col, 1, recipient.campaign)
        reason = unreachable_reason(recipient.channel, recipient.msisdn, recipient.email)
        if counted_update(recipient, _lost(reason), Delivery.SENDING, tally, reporting=reporting):
            counted += recipient.claim_round == deployment.round
            unknown += reason is None
    sent = 0
    unwritten = _receipt_without_outcome() & (Recipient.claimed_at < before)
    for recipient in Recipient.query(deployment.id, filter_condition=unwritten, consistent_read=True):
        if _count_receipted(recipient, deployment.company, tz):
            sent += recipient.claim_round == deployment.round
    if reporting is not None:
        reporting.flush()
    if unknown:
        deployment.update(actions=[Deployment.unknown_count.add(unknown)])
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


def _lost(reason: str | None) -> list:
    """What a claim a dead worker left becomes: `unknown` (it may have gone out), or `failed` when its
    channel could never have sent it (`reason`: no number, no address; it cost nothing)."""
    if reason is None:
        return [Recipient.status.set(Delivery.UNKNOWN), Recipient.seq.add(1)]
    return [Recipient.status.set(Delivery.FAILED), Recipient.error.set(reason), Recipient.seq.add(1)]


def _receipt_without_outcome():
    """Claims a receipt reached before their sender wrote the outcome (which stamps `date_sent`)."""
    return (
        Recipient.receipt.exists()
        & Recipient.date_sent.does_not_exist()
        & (Recipient.status != Delivery.SENDING)
        & Recipient.claimed_at.exists()
    )


def _count_receipted(recipient: Recipient, company: int, tz: str) -> bool:
    """A claim whose sender died after the network took it (a receipt says so): count it as the sender
    would have (sent, in its hour; the receipt moved it from there) and stamp it so nobody counts it again."""
    claimed = periods.from_epoch(recipient.claimed_at)
    tally = Tally()
    sent = column(Delivery.SENT, recipient.channel)
    tally.add(company, recipient.deployment, claimed, tz, sent, 1, recipient.campaign)
    return counted_update(
        recipient,
        [Recipient.date_sent.set(claimed)],
        recipient.status,
        tally,
        extra=Recipient.date_sent.does_not_exist(),
    )


def counted_update(
    recipient: Recipient,
    actions: list,
    expect: str,
    tally: Tally,
    extra: Any = None,
    reporting: Reports | None = None,
) -> bool:
    """Change a recipient still in status `expect` (and meeting `extra`), and its hour's counts, in one
    transaction; False when it had moved on (a worker got there first). A status it changes is kept in
    `reporting`, to be told to the company's callback URL (None: it has none, or the status stays)."""
    condition = Recipient.status == expect if extra is None else (Recipient.status == expect) & extra
    try:
        with transaction() as write:
            write.update(recipient, actions=actions, condition=condition)
            tally.write_into(write)
    except TransactWriteError as error:
        if condition_failed(error):
            return False
        raise
    if reporting is not None:
        reporting.add(recipient)
    return True


def finish(
    deployment: Deployment, final: int | None = None, also: Callable[[TransactWrite], None] | None = None
) -> None:
    """Settle a deployment from its recipients: recipients never sent fail (and cost nothing), those
    left `sending` by a crash are `unknown` (and cost what they would have), the unused reservation
    goes back to the company, and `total_credits` becomes what was used (never more than reserved).
    Each leftover changes only from the status it was read in, so a worker still at work wins. Only a
    sending or paused deployment is settled: one settled already keeps what it was settled to. `also`
    adds writes of its own to the final transaction (a cancellation's audit entry)."""
    if deployment.status not in (SENDING, PAUSED):
        return
    totals, unquoted = _settle_recipients(deployment)
    used = min(totals.used, deployment.reserved or 0)
    anomaly = _anomaly(unquoted, totals.used, deployment.reserved or 0)
    if anomaly:
        logger.error("a deployment settled with an anomaly", deployment=deployment.id, anomaly=anomaly)
    returned = (deployment.reserved or 0) - used
    if final is None:
        nothing_sent = totals.sent == 0 and totals.failed > 0
        final = FAILED if deployment.error or nothing_sent else SENT
    lifecycle.move(lifecycle.SETTLED_BY[final], deployment.status)
    with unchanged_meanwhile(), transaction() as write:
        write.update(
            deployment,
            actions=[
                Deployment.status.set(final),
                Deployment.total_credits.set(used),
                Deployment.reserved.set(0),
                Deployment.credits_used.set(used),
                *(getattr(Deployment, name).set(n) for name, n in totals.counters().items()),
                Deployment.launch_queue.remove(),
                Deployment.launch_at.remove(),
                Deployment.date_finished.set(clock.now()),
                Deployment.date_updated.set(clock.now()),
                *([Deployment.error.set(anomaly[:500])] if anomaly else []),
            ],
            condition=(Deployment.status == deployment.status) & (Deployment.round == deployment.round),
        )
        if returned:
            refund(write, deployment.company, returned)
        if also is not None:
            also(write)
    logger.info(
        "deployment finished",
        deployment=deployment.id,
        status=lifecycle.NAMES[final],
        used=used,
        refunded=returned,
        **{k: v for k, v in asdict(totals).items() if k != "used"},
    )


def _settle_recipients(deployment: Deployment) -> tuple[Totals, int]:
    """Give every recipient a final status and count them all; also how many queued ones no approval
    quoted. Recipients are read projected; only those `_settled` would change are read whole (100 to a
    BatchGetItem) and settled."""
    reporting = reporting_for(deployment.company)
    template = compile_template(deployment.message or "")
    tz = Company.get(deployment.company).timezone
    optout_text, credits = deployment.frozen_optout_text or None, email_price(deployment)
    settle = (template, optout_text, credits, deployment.company, tz, deployment.gsm_substitute, reporting)
    totals, unquoted, leftovers = Totals(), 0, []
    for state in recipient_states(deployment.id):
        unquoted += state.status == Delivery.QUEUED and state.quoted is None
        if not _unsettled(state):
            _count(totals, state, reporting)
            continue
        leftovers.append((deployment.id, state.msisdn))
        if len(leftovers) == READ_BATCH:
            _settle_whole(leftovers, settle, totals, reporting)
            leftovers = []
    _settle_whole(leftovers, settle, totals, reporting)
    if reporting is not None:
        reporting.flush()  # before the deployment is final: a failure here runs this settlement again
    return totals, unquoted


def _unsettled(state: RecipientState) -> bool:
    """Whether `_settled` would change this recipient: no final status yet, no cost although it may
    have reached the network, or a receipt its sender never counted."""
    if state.status in (Delivery.QUEUED, Delivery.SENDING):
        return True
    if state.segments is None and (state.status == Delivery.UNKNOWN or state.receipt):
        return True
    return bool(state.receipt) and state.date_sent is None


def _settle_whole(
    keys: list[tuple[int, str]], settle: tuple, totals: Totals, reporting: Reports | None
) -> None:
    """Read the recipients of `keys` whole (one BatchGetItem), settle each (`_settled`, given the
    arguments `settle`) and count it."""
    for recipient in Recipient.batch_get(keys, consistent_read=True) if keys else ():
        _count(totals, _settled(recipient, *settle), reporting)


def _count(totals: Totals, recipient: Recipient | RecipientState, reporting: Reports | None) -> None:
    """Count a settled recipient, and tell the company again of a status settlement writes."""
    totals.add(recipient)
    if reporting is not None and settled_by_settlement(recipient):
        reporting.add(recipient)


def _anomaly(unquoted: int, used: int, reserved: int) -> str:
    """What settlement found that must never happen, said on the deployment ("" when all is well):
    recipients no approval quoted (never sent), or more used than was reserved (never charged)."""
    problems = []
    if unquoted:
        problems.append(f"{unquoted} recipients were added after the approval and were not sent")
    if used > reserved:
        problems.append(f"{used} credits were used of {reserved} reserved; the excess was not charged")
    return "; ".join(problems) + "." if problems else ""


def _settled(
    recipient: Recipient,
    template: Template,
    optout_text: str | None,
    email_credits: int,
    company: int,
    tz: str,
    substitute: bool = False,
    reporting: Reports | None = None,
) -> Recipient:
    """The recipient with a final status: queued → failed, sending → unknown (each counted as unsent),
    and a cost for every one that reached (or may have reached) the network; re-read if a worker
    changed it meanwhile."""
    while True:
        actions = []
        tally = Tally()
        if recipient.status == Delivery.QUEUED:
            now = clock.now()
            actions = [
                Recipient.status.set(Delivery.FAILED),
                Recipient.error.set(
                    "not sent: the deployment stopped before reaching this recipient"
                    if recipient.quoted is not None
                    else "not sent: it was added after the approval, which did not quote it"
                ),
                Recipient.claimed_at.set(periods.epoch(now)),
                Recipient.seq.add(1),
            ]
            col = column(Delivery.FAILED, recipient.channel)
            tally.add(company, recipient.deployment, now, tz, col, 1, recipient.campaign)
        elif recipient.status == Delivery.SENDING and (
            reason := unreachable_reason(recipient.channel, recipient.msisdn, recipient.email)
        ):
            actions = _lost(reason)
            claimed = periods.from_epoch(recipient.claimed_at) if recipient.claimed_at else clock.now()
            col = column(Delivery.FAILED, recipient.channel)
            tally.add(company, recipient.deployment, claimed, tz, col, 1, recipient.campaign)
        elif recipient.status in (Delivery.SENDING, Delivery.UNKNOWN) or (
            recipient.receipt and recipient.segments is None
        ):
            if recipient.status == Delivery.SENDING:
                actions += [Recipient.status.set(Delivery.UNKNOWN), Recipient.seq.add(1)]
                claimed = periods.from_epoch(recipient.claimed_at) if recipient.claimed_at else clock.now()
                col = column(Delivery.UNKNOWN, recipient.channel)
                tally.add(company, recipient.deployment, claimed, tz, col, 1, recipient.campaign)
            if recipient.segments is None:
                segments = (
                    email_credits
                    if recipient.channel == EMAIL
                    else cost(text_for(template, optout_text, recipient, substitute)).segments
                )
                actions.append(Recipient.segments.set(segments))
        extra = None
        if recipient.receipt and recipient.date_sent is None and recipient.status != Delivery.SENDING:
            claimed = periods.from_epoch(recipient.claimed_at) if recipient.claimed_at else clock.now()
            actions.append(Recipient.date_sent.set(claimed))  # its sender never wrote: count it here
            col = column(Delivery.SENT, recipient.channel)
            tally.add(company, recipient.deployment, claimed, tz, col, 1, recipient.campaign)
            extra = Recipient.date_sent.does_not_exist()
        if not actions:
            return recipient
        changes = recipient.status in (Delivery.QUEUED, Delivery.SENDING)
        if counted_update(recipient, actions, recipient.status, tally, extra, reporting if changes else None):
            return Recipient.get(recipient.deployment, recipient.msisdn, consistent_read=True)
        recipient = Recipient.get(recipient.deployment, recipient.msisdn, consistent_read=True)
