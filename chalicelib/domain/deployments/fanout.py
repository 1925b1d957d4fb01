"""Fan-out: a sending deployment's queued recipients become chunks of about a hundred on the send queue,
a page at a time; a step given up fails the page it never queued."""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib import queue_messages
from chalicelib.domain.deployments.given_up import count_given_up, fail_unclaimed
from chalicelib.domain.deployments.quotes import email_price
from chalicelib.domain.rules.lifecycle import SENDING, Delivery
from chalicelib.domain.rules.optout_policy import honours_optouts
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, transaction
from chalicelib.models.claims import Claim
from chalicelib.models.deployments import Deployment, Recipient

CHUNK = 100


CHUNK_BYTES = 220_000  # an SQS message holds 256 KiB: the texts and the recipients share this


FANOUT_PAGE = 2000
PERSONAL = ("channel", "number", "campaign", "first_name", "last_name", "email", "message")
CHUNKED = ("deployment", "msisdn", *PERSONAL, "fields")  # what a chunk carries of a recipient: all it reads


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
    guard = Claim.get_or_none(guard_key, consistent_read=True)
    if guard is None:
        page = _queued(deployment.id, step.after, until=None)
        cursor = page[-1].msisdn if len(page) == FANOUT_PAGE else ""
        try:
            with transaction() as write:
                write.save(Claim(key=guard_key, owner=cursor), condition=Claim.key.does_not_exist())
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
    elif Claim.get_or_none(f"{guard_key}#queued", consistent_read=True) is None:
        cursor = guard.owner
        page = _queued(deployment.id, step.after, until=cursor or None)
    else:
        _pass_on(step, guard.owner)
        return
    queue_messages.enqueue_many(_chunks(deployment, step.round, page))
    Claim(key=f"{guard_key}#queued", owner=cursor).save()
    _pass_on(step, cursor)


def _queued(deployment_id: int, after: str, until: str | None) -> list[Recipient]:
    """Up to FANOUT_PAGE queued recipients after `after` (and up to `until`, when given), in order:
    only those an approval quoted."""
    page = []
    for recipient in Recipient.query(
        deployment_id,
        Recipient.msisdn > after if after else None,
        filter_condition=(Recipient.status == Delivery.QUEUED) & Recipient.quoted.exists(),
        consistent_read=True,
        page_size=FANOUT_PAGE,
        attributes_to_get=list(CHUNKED),
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
    room = CHUNK_BYTES - sum(
        len((text or "").encode()) for text in (deployment.message, deployment.subject, deployment.html)
    )
    for recipient in page:
        value = _values(recipient)
        length = len(json.dumps(value, ensure_ascii=False).encode())
        if values and (len(values) == CHUNK or size + length > room):
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
        honours_optouts=honours_optouts(deployment.marketing, deployment.optout),
        gsm_substitute=deployment.gsm_substitute,
        sender=deployment.frozen_sender or "",
        message=deployment.message or "",
        optout_text=deployment.frozen_optout_text or "",
        recipients=values,
        subject=deployment.subject or "",
        html=deployment.html or "",
        email_credits=email_price(deployment),
    )


def _values(recipient: Recipient) -> dict[str, Any]:
    values: dict[str, Any] = {"msisdn": recipient.msisdn}
    for name in PERSONAL:
        if getattr(recipient, name):
            values[name] = getattr(recipient, name)
    if recipient.fields:
        values["fields"] = recipient.fields.as_dict()
    return values


def give_up_fan_out(step: queue_messages.FanOut, reason: str) -> None:
    """A fan-out step that failed on its last attempt: the page it counted but never queued fails, and
    the deployment finishes with what was queued (whoever was never reached fails, and is refunded)."""
    guard_key = f"fanout#{step.deployment}#{step.round}#{step.after}"
    guard = Claim.get_or_none(guard_key, consistent_read=True)
    failed = 0
    if guard is not None and Claim.get_or_none(f"{guard_key}#queued", consistent_read=True) is None:
        page = _queued(step.deployment, step.after, until=guard.owner or None)
        unclaimed = [(r.msisdn, r.channel, r.campaign) for r in page]
        failed = fail_unclaimed(step.company, step.deployment, unclaimed, reason)
    count_given_up(step.company, step.deployment, step.round, failed, "started", reason)
    logger.error("fan-out given up", deployment=step.deployment, failed=failed, reason=reason)
