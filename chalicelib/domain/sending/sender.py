"""Sending: every recipient at most once, though SQS and Lambda deliver at least once.

Before the provider is called, a group of at most GROUP recipients is claimed (queued → sending, each a
conditional write, the group in one transaction); after it, their statuses are written. The statuses
of one group travel in the same transaction as the claims of the next, so a worker that dies leaves
at most one group `sending` (they end as `unknown`, never resent) and every other recipient is sent
once, or released and sent by a retry. The counts a deployment keeps move in those transactions too.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.callbacks import events
from chalicelib.domain.contacts import optouts
from chalicelib.domain.deployments import launch
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.rules.lifecycle import SENDING, Delivery
from chalicelib.domain.rules.modes import is_test
from chalicelib.domain.rules.quiet_hours import marketing_may_go, next_opening
from chalicelib.domain.rules.templates import compile_template
from chalicelib.domain.sending import pacing, refusals, writes
from chalicelib.domain.sending.emails import email_content
from chalicelib.domain.sending.flushing import SendWrites
from chalicelib.domain.sending.interruptions import Booked, NotWrittenYet, RetryLater, Stopped
from chalicelib.domain.sending.optout_reads import ChunkOptouts, asks_tokens
from chalicelib.domain.sending.outgoing import channel_of, erased, for_message, for_recipient, unreachable
from chalicelib.domain.sending.writes import Result
from chalicelib.domain.stats import tally
from chalicelib.log import logger
from chalicelib.models import sends
from chalicelib.models.companies import Company, no_erased_optouts
from chalicelib.models.deployments import Bulk, Deployment, Message, Recipient, recipient_key
from chalicelib.providers import (
    Outgoing,
    Permanent,
    Provider,
    Retryable,
    email_provider,
    provider,
    simulators,
)
from chalicelib.providers.mail import OutgoingEmail

# A group's claims and the last group's statuses, with their counts, share one transaction (at most 100
# items): 40 + 40 and a few counts for a deployment's chunk; 25 + 25 and a count for each message's
# campaign for API messages.
GROUP = 40
MESSAGE_GROUP = 25
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)
RESERVE_MS = 60_000  # below this much time left, what is unsent goes back on the queue
STATE_FRESH_SECONDS = 0.8  # an SMS starts only if the deployment was seen sending this recently


class Sender(SendWrites):
    """One worker invocation's sending: chunks in order, in groups, statuses riding with the next claims."""

    def __init__(self, time_left_ms: Callable[[], int]) -> None:
        super().__init__()
        self.time_left_ms = time_left_ms
        self.gateway = provider()
        self.mail_gateway = email_provider()
        self.pacers: dict[tuple[int, str], pacing.Pacer] = {}
        self.touched: set[tuple[int, int]] = set()
        self._claimed_at = clock.now()
        self._bulks: dict[int, str | None] = {}
        self._seen_sending: dict[tuple[int, int], float] = {}

    # ---- deployments -------------------------------------------------------------------------

    def send_chunk(self, chunk: queue_messages.SendChunk) -> None:
        company = self._company(chunk.company)
        template = compile_template(chunk.message)
        emails = any(channel_of(r) == EMAIL for r in chunk.recipients)
        content = email_content(chunk) if emails else None
        honours = chunk.marketing if chunk.honours_optouts is None else chunk.honours_optouts
        key = (chunk.company, chunk.deployment)
        reads = ChunkOptouts(chunk.company, chunk.sender or None)
        to_come = pacing.still_to_come(
            [pacing.pace_key(chunk.sender, channel_of(r)) for r in chunk.recipients]
        )
        for start in range(0, len(chunk.recipients), GROUP):
            group = chunk.recipients[start : start + GROUP]
            if chunk.marketing and not all(
                marketing_may_go(company, channel, clock.now()) for channel in {channel_of(r) for r in group}
            ):
                launch.pause(chunk.company, chunk.deployment, company)
                self.flush()
                return
            if self.time_left_ms() < RESERVE_MS:
                self.flush()
                queue_messages.enqueue(dataclasses.replace(chunk, recipients=chunk.recipients[start:]))
                return
            while True:
                if honours:  # read first, then claim only while no erasure has marked the company since
                    reads.read_if_due(chunk.recipients[start:], asks_tokens(company, self.marked))
                claim_began = time.monotonic()
                unmarked = chunk.company if honours and not reads.tokens else None
                claimed = self._claim(key, chunk.round, [r["msisdn"] for r in group], unmarked)
                if claimed is None:
                    return
                if unmarked is None or not asks_tokens(company, self.marked):
                    break
            self._seen_sending[key] = claim_began  # the claims' transaction required it to be sending
            for index, recipient in enumerate(group, start):
                if recipient["msisdn"] not in claimed:
                    continue
                reason = unreachable(recipient)
                if reason is not None:
                    self._recipient_done(chunk, recipient, Result(Delivery.FAILED, error=reason))
                    continue
                if recipient["msisdn"] in reads.blocked:
                    self._recipient_done(chunk, recipient, Result(Delivery.OPTED_OUT))
                    continue
                outgoing = for_recipient(chunk, company, template, content, recipient)
                charge = content.credits if isinstance(outgoing, OutgoingEmail) and content else None
                release = self._release_recipients(chunk, group)
                try:
                    result = self._deliver(
                        outgoing,
                        *self._route(company, outgoing),
                        release,
                        charge,
                        go_on=lambda: self._still_sending(key, chunk.round),
                        upcoming=to_come[index],
                    )
                except Stopped:
                    release(self._unsent_claims())
                    self.flush()
                    return
                except Booked as booked:
                    queue_messages.enqueue(
                        dataclasses.replace(chunk, recipients=chunk.recipients[index:]), booked.delay
                    )
                    return
                self._recipient_done(chunk, recipient, result)
        self.touched.add(key)

    def _still_sending(self, key: tuple[int, int], round_: int) -> bool:
        """Whether the deployment is still sending this round, read again when the last sight of it is
        older than STATE_FRESH_SECONDS: a pause or cancel stops the next SMS that starts a second later."""
        if time.monotonic() - self._seen_sending.get(key, float("-inf")) < STATE_FRESH_SECONDS:
            return True
        looked = time.monotonic()
        now = Deployment.get_or_none(*key, consistent_read=True, attributes_to_get=["status", "round"])
        if now is None or now.status != SENDING or now.round != round_:
            return False
        self._seen_sending[key] = looked
        return True

    def _claim(
        self, key: tuple[int, int], round_: int, numbers: list[str], unmarked: int | None = None
    ) -> set[str] | None:
        """Claim `numbers` (in the transaction of the last group's statuses) while company `unmarked` has
        no erased opt-out (its read had no tokens): the numbers now ours, None if no longer sending."""
        if set(self.pending.rounds.items()) - {(key, round_)} or unmarked in self.pending.refunds:
            # Another deployment's (or round's) statuses go alone: its state must not decide these claims;
            # and a refund to the company goes before a claim checks the company's item.
            self.flush()
        done = {sends.claim_name(u) for u in self.pending.updates}
        self._claimed_at = clock.now()
        for number in numbers:
            if number not in done:  # the same recipient twice in one batch: already ours
                item = recipient_key(key[1], number)
                self.pending.claims.append(
                    writes.claim_of(Recipient.Meta.table_name, item, self._claimed_at, round_)
                )
        self.pending.rounds[key] = round_
        if unmarked is not None:
            self.pending.checks[unmarked] = no_erased_optouts(unmarked)
        return self.flush(claiming=key)

    def _recipient_done(self, chunk: queue_messages.SendChunk, recipient: dict, result: Result) -> None:
        key = recipient_key(chunk.deployment, recipient["msisdn"])
        outcome = writes.outcome(Recipient.Meta.table_name, key, result)
        self.pending.updates.append(outcome)
        counts = self.pending.counts.setdefault((chunk.company, chunk.deployment), {})
        counts["processed"] = counts.get("processed", 0) + 1
        name = writes.COUNTER_OF[result.status]
        counts[name] = counts.get(name, 0) + 1
        tz = self._company(chunk.company).timezone
        col = tally.column(result.status, channel_of(recipient))
        counted = writes.Counted(
            chunk.company, chunk.deployment, self._claimed_at, tz, col, campaign=recipient.get("campaign")
        )
        counted.add_to(self.pending.tally, col, 1)
        self.pending.counted[sends.item_name(outcome)] = counted
        if result.status == Delivery.SENT:
            counts["credits_used"] = counts.get("credits_used", 0) + result.segments
        self.pending.rounds.setdefault((chunk.company, chunk.deployment), chunk.round)

    def _release_recipients(
        self, chunk: queue_messages.SendChunk, group: list[dict]
    ) -> Callable[[set[str]], None]:
        def release(unsent: set[str]) -> None:
            for recipient in group:
                if recipient["msisdn"] in unsent:
                    item = recipient_key(chunk.deployment, recipient["msisdn"])
                    given_back = sends.give_back(Recipient.Meta.table_name, item)
                    self.pending.updates.append(given_back)
                    self.pending.given_back.add(sends.item_name(given_back))

        return release

    # ---- API messages ----------------------------------------------------------------------------

    def send_messages(self, batch_of: queue_messages.SendMessages) -> None:
        """API messages: sent once paid for (a bulk's reservation), marketing ones only in permitted
        hours and never to opted-out numbers; a failure or an opt-out gives its credits back."""
        if self.pending.rounds:
            self.flush()  # a deployment's statuses go alone: its state must not decide these claims
        company = self._company(batch_of.company)
        found = {m.id: m for m in Message.batch_get([(batch_of.company, i) for i in batch_of.ids])}
        missing = set(batch_of.ids) - set(found)
        if missing and missing - refusals.refused(batch_of.company, missing):
            raise NotWrittenYet("some messages are not written yet")
        queued = [
            found[i] for i in dict.fromkeys(batch_of.ids) if i in found and found[i].status == Delivery.QUEUED
        ]
        events.settled_again(
            company, [m for m in found.values() if m.status not in (Delivery.QUEUED, Delivery.SENDING)]
        )
        unpaid = [m for m in queued if m.bulk is not None and self._bulk(m) != "paid"]
        if any(self._bulk(m) is None for m in unpaid):
            raise NotWrittenYet("a bulk request is not settled yet")
        now = clock.now()
        waiting = [m for m in queued if m.marketing and not marketing_may_go(company, channel_of(m), now)]
        if waiting:
            opening = next_opening(clock.now(), company.timezone, company.default_region)
            delay = int(min(900, max(1, (opening - clock.now()).total_seconds())))
            queue_messages.enqueue(
                queue_messages.SendMessages(company=batch_of.company, ids=[m.id for m in waiting]), delay
            )
        ready = [m for m in queued if m not in waiting]
        blocked = optouts.blocked_messages(batch_of.company, ready)
        to_come = pacing.still_to_come([pacing.pace_key(m.sender, channel_of(m)) for m in ready])
        for start in range(0, len(ready), MESSAGE_GROUP):
            if self.time_left_ms() < RESERVE_MS:
                self.flush()
                queue_messages.enqueue(
                    queue_messages.SendMessages(company=batch_of.company, ids=[m.id for m in ready[start:]])
                )
                return
            group = ready[start : start + MESSAGE_GROUP]
            claimed = self._claim_messages(group)
            for index, message in enumerate(group, start):
                if message.id not in claimed:
                    continue
                if message in unpaid:
                    self._message_done(
                        message,
                        Result(Delivery.FAILED, error="not paid: the bulk request was refused"),
                        refund=False,
                    )
                elif message.id in blocked:
                    self._message_done(message, Result(Delivery.OPTED_OUT), refund=True)
                elif reason := erased(message):  # erased since it was queued: never sent to the token
                    self._message_done(message, Result(Delivery.FAILED, error=reason), refund=True)
                else:
                    outgoing = for_message(message, company)
                    route = self._route(company, outgoing)
                    release = self._release_messages(group)
                    try:
                        result = self._deliver(outgoing, *route, release, upcoming=to_come[index])
                    except Booked as booked:
                        rest = queue_messages.SendMessages(batch_of.company, [m.id for m in ready[index:]])
                        queue_messages.enqueue(rest, booked.delay)
                        return
                    self._message_done(message, result, refund=result.status != Delivery.SENT)

    def _bulk(self, message: Message) -> str | None:
        if message.bulk not in self._bulks:
            found = Bulk.get_or_none(message.company, message.bulk, consistent_read=True)
            self._bulks[message.bulk] = found.status if found else None
        return self._bulks[message.bulk]

    def _claim_messages(self, group: list[Message]) -> set[int]:
        done = {sends.claim_name(u) for u in self.pending.updates}
        self._claimed_at = clock.now()
        for message in group:
            if f"m#{message.id}" not in done:
                self.pending.claims.append(
                    writes.claim_of(
                        Message.Meta.table_name,
                        sends.message_key(message.company, message.id),
                        self._claimed_at,
                    )
                )
        self.flush()
        return {int(key.split("#", 1)[1]) for key in self._last_claimed if key.startswith("m#")}

    def _message_done(self, message: Message, result: Result, refund: bool) -> None:
        outcome = writes.outcome(
            Message.Meta.table_name, sends.message_key(message.company, message.id), result
        )
        self.pending.updates.append(outcome)
        tz = self._company(message.company).timezone
        col = tally.column(result.status, channel_of(message))
        counted = writes.Counted(message.company, None, self._claimed_at, tz, col, campaign=message.campaign)
        counted.add_to(self.pending.tally, col, 1)
        self.pending.counted[sends.item_name(outcome)] = counted
        if refund:
            self.pending.refunds[message.company] = (
                self.pending.refunds.get(message.company, 0) + message.credits
            )

    def _release_messages(self, group: list[Message]) -> Callable[[set[str]], None]:
        def release(unsent: set[str]) -> None:
            for message in group:
                if f"m#{message.id}" in unsent:
                    self.pending.updates.append(
                        sends.give_back(
                            Message.Meta.table_name, sends.message_key(message.company, message.id)
                        )
                    )

        return release

    # ---- the gateway ---------------------------------------------------------------------------

    def _route(self, company: Company, outgoing: Outgoing | OutgoingEmail) -> tuple[Provider, pacing.Pacer]:
        """The gateway and the pace of an SMS (its sender id's) or an email (the company's email); a test
        tenant's go to its simulator."""
        sms_gateway, mail_gateway = self.gateway, self.mail_gateway
        if is_test(company.id):
            sms_gateway, mail_gateway = simulators(company.id)
        if isinstance(outgoing, OutgoingEmail):
            return mail_gateway, self._pacer(company, pacing.EMAIL_PACE, company.email_send_rate)
        return sms_gateway, self._pacer(company, pacing.pace_key(outgoing.sender, None))

    def _deliver(
        self,
        outgoing: Any,
        gateway: Provider,
        pacer: pacing.Pacer,
        release: Callable[[set[str]], None],
        charge: int | None = None,
        go_on: Callable[[], bool] | None = None,
        upcoming: int = 1,
    ) -> Result:
        """One SMS (or email) through its gateway at its pace, costing `charge` credits (None: its
        segments); retryable errors back off and, if they persist, release what is unsent in the
        group and hand the chunk back to SQS. Raises Stopped when `go_on` says the send stopped.
        `upcoming`: the sends through its sender the worker expects to make from this one on."""
        for attempt, pause_seconds in enumerate((*BACKOFF_SECONDS, None)):
            try:
                pacer.wait(upcoming, within=(self.time_left_ms() - RESERVE_MS) / 1000)
            except Booked:
                release(self._unsent_claims())
                self.flush()
                raise
            if go_on is not None and not go_on():
                raise Stopped
            try:
                provider_id = gateway.send(outgoing)
            except Permanent as error:
                return Result(Delivery.FAILED, error=f"{error.code}: {error.message}")
            except Retryable as error:
                if pause_seconds is None:
                    release(self._unsent_claims())
                    self.flush()
                    raise RetryLater(f"{error.code} after {attempt + 1} attempts") from error
                time.sleep(pause_seconds)
                continue
            segments = getattr(outgoing, "segments", 0) if charge is None else charge
            return Result(Delivery.SENT, segments=segments, provider_id=provider_id)
        raise AssertionError("unreachable")

    def _unsent_claims(self) -> set[str]:
        """Numbers claimed in the last claim transaction that have no status yet."""
        done = {sends.claim_name(u) for u in self.pending.updates}
        return {c for c in self._last_claimed if c not in done}

    def release_pace(self) -> None:
        """Give each sender's timeline back what this worker reserved and did not send. Only a pace is at
        stake (a span kept makes later sends wait, never go faster), so a failure is logged, not raised."""
        for (company, sender), pacer in self.pacers.items():
            try:
                pacer.release()
            except Exception as error:  # the record's sends are done: its pace is not worth failing it
                logger.warning("a span was not given back", company=company, sender=sender, error=str(error))

    def _pacer(self, company: Company, sender: str, rate: int | None = None) -> pacing.Pacer:
        """The pace of one sender (an SMS sender id, or pacing.EMAIL_PACE for the company's email)."""
        key = (company.id, sender)
        if key not in self.pacers:
            rate = rate or company.send_rate or pacing.DEFAULT_RATE
            self.pacers[key] = pacing.sender_pacer(company.id, sender, rate)
        return self.pacers[key]
