"""Sending: every recipient at most once, though SQS and Lambda deliver at least once.

Before the provider is called, a group of at most 25 recipients is claimed (queued → sending, each a
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
from chalicelib.domain.credits import refund_items
from chalicelib.domain.deployments import final_counts, launch
from chalicelib.domain.rules.channels import EMAIL
from chalicelib.domain.rules.lifecycle import SENDING, Delivery
from chalicelib.domain.rules.modes import is_test
from chalicelib.domain.rules.quiet_hours import marketing_may_go, next_opening
from chalicelib.domain.rules.templates import compile_template
from chalicelib.domain.sending import pacing, refusals, writes
from chalicelib.domain.sending.emails import email_content
from chalicelib.domain.sending.interruptions import NotWrittenYet, RetryLater, Stopped
from chalicelib.domain.sending.optout_reads import ChunkOptouts, asks_tokens
from chalicelib.domain.sending.outgoing import channel_of, erased, for_message, for_recipient, unreachable
from chalicelib.domain.sending.writes import Result
from chalicelib.domain.stats import tally
from chalicelib.models import dynamodb, sends
from chalicelib.models.base import CONFLICT_RETRIES, back_off
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

GROUP = 25
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)
RESERVE_MS = 60_000  # below this much time left, what is unsent goes back on the queue
STATE_FRESH_SECONDS = 0.8  # an SMS starts only if the deployment was seen sending this recently
EMAIL_PACE = "@email"  # the email channel's pacer key: no SMS sender id holds an @


class Sender:
    """One worker invocation's sending: chunks in order, groups of 25, statuses riding with claims."""

    def __init__(self, time_left_ms: Callable[[], int], concurrency: int) -> None:
        self.time_left_ms = time_left_ms
        self.concurrency = concurrency
        self.pending = writes.Pending()
        self.gateway = provider()
        self.mail_gateway = email_provider()
        self.pacers: dict[tuple[int, str], pacing.Pacer] = {}
        self.companies: dict[int, Company] = {}
        self.touched: set[tuple[int, int]] = set()
        self._last_claimed: set[str] = set()
        self._claimed_at = clock.now()
        self._bulks: dict[int, str | None] = {}
        self._seen_sending: dict[tuple[int, int], float] = {}
        self.marked: set[int] = set()  # companies an erasure marked since their item was read

    # ---- deployments -------------------------------------------------------------------------

    def send_chunk(self, chunk: queue_messages.SendChunk) -> None:
        company = self._company(chunk.company)
        template = compile_template(chunk.message)
        emails = any(channel_of(r) == EMAIL for r in chunk.recipients)
        content = email_content(chunk) if emails else None
        honours = chunk.marketing if chunk.honours_optouts is None else chunk.honours_optouts
        key = (chunk.company, chunk.deployment)
        reads = ChunkOptouts(chunk.company, chunk.sender or None)
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
            for recipient in group:
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
                    )
                except Stopped:
                    release(self._unsent_claims())
                    self.flush()
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
        for start in range(0, len(ready), GROUP):
            if self.time_left_ms() < RESERVE_MS:
                self.flush()
                queue_messages.enqueue(
                    queue_messages.SendMessages(company=batch_of.company, ids=[m.id for m in ready[start:]])
                )
                return
            group = ready[start : start + GROUP]
            claimed = self._claim_messages(group)
            for message in group:
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
                    result = self._deliver(outgoing, *route, self._release_messages(group))
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
            return mail_gateway, self._pacer(company, EMAIL_PACE, company.email_send_rate)
        return sms_gateway, self._pacer(company, outgoing.sender or "")

    def _deliver(
        self,
        outgoing: Any,
        gateway: Provider,
        pacer: pacing.Pacer,
        release: Callable[[set[str]], None],
        charge: int | None = None,
        go_on: Callable[[], bool] | None = None,
    ) -> Result:
        """One SMS (or email) through its gateway at its pace, costing `charge` credits (None: its
        segments); retryable errors back off and, if they persist, release what is unsent in the
        group and hand the chunk back to SQS. Raises Stopped when `go_on` says the send stopped."""
        for attempt, pause_seconds in enumerate((*BACKOFF_SECONDS, None)):
            pacer.wait()
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

    def _pacer(self, company: Company, sender: str, rate: int | None = None) -> pacing.Pacer:
        """The pace of one sender (an SMS sender id, or `email` for the company's email)."""
        key = (company.id, sender)
        if key not in self.pacers:
            rate = (rate or company.send_rate or pacing.DEFAULT_RATE) / max(1, self.concurrency)
            self.pacers[key] = pacing.Pacer(rate)
        return self.pacers[key]

    def _company(self, company_id: int) -> Company:
        """Read once an invocation: a change of hours or rate applies from the next one."""
        if company_id not in self.companies:
            self.companies[company_id] = Company.get(company_id)
        return self.companies[company_id]

    # ---- writing ---------------------------------------------------------------------------------

    def flush(self, claiming: tuple[int, int] | None = None) -> set[str] | None:
        """Write the pending statuses and counts together with the pending claims; retry without the
        claims another worker holds, and without any claims for a deployment that stopped sending
        (paused, cancelled, or resumed in a newer round). Returns the numbers now claimed, or None
        when the deployment being claimed for has stopped. If the write fails for another reason, the
        statuses stay pending (the worker's last flush tries again) and the claims are dropped."""
        pending, self.pending = self.pending, writes.Pending()
        try:
            claims, stopped = self._write(pending)
        except Exception:
            pending.claims, pending.checks = [], {}
            self.pending = writes.merge(pending, self.pending)
            raise
        # After the write, outside its retry: statuses written are never written again for a callback. A
        # claim refused because its status was settled (by this chunk's earlier run, whose emission may
        # have failed) emits that status again; its event id makes the repeat harmless.
        companies = {deployment: company for company, deployment in pending.rounds}
        events.statuses_written(pending.updates + pending.taken, companies, self._company)
        self._last_claimed = {sends.claim_name(c) for c in claims}
        if stopped and claiming is not None:
            return None
        return self._last_claimed

    def _write(self, pending: writes.Pending) -> tuple[list[dict[str, Any]], bool]:
        claims, stopped, level, conflicts = list(pending.claims), False, writes.STRICT, 0
        checks = dict(pending.checks)
        while True:
            deployments = writes.deployment_updates(pending, require_sending=bool(claims), level=level)
            actions = (
                pending.updates
                + claims
                + deployments
                + refund_items(pending.refunds)
                + pending.tally.updates()
                + list(checks.values())
            )
            if not actions:
                return claims, stopped
            try:
                dynamodb.transact(actions)
                if deployments and level == writes.SETTLED:
                    for company, deployment in pending.rounds:  # its late statuses moved its counts
                        final_counts.recount(company, deployment)
                return claims, stopped
            except dynamodb.TransactionCancelled as cancelled:
                failed = cancelled.failed
                if not failed and cancelled.conflicted and conflicts < CONFLICT_RETRIES:
                    # Every worker's flush touches the deployment's counters: a conflict is routine.
                    conflicts += 1
                    back_off(conflicts)
                    continue
                first_check = len(actions) - len(checks)
                if any(i >= first_check for i in failed):
                    # An erasure began to keep an opt-out under a token: claim nothing on a read without.
                    self.marked |= {c for n, c in enumerate(checks) if first_check + n in failed}
                    claims, checks = [], {}
                    continue
                first_claim, first_deployment = len(pending.updates), len(pending.updates) + len(claims)
                if any(i < first_claim for i in failed):
                    writes.settle_late(pending, sorted(i for i in failed if i < first_claim))
                    continue
                last_deployment = first_deployment + len(deployments)
                if any(first_deployment <= i < last_deployment for i in failed) and level != writes.NONE:
                    # The deployment moved on: keep the statuses, claim nothing more, leave a newer
                    # round's completion count alone, and add to no counter of a settled deployment.
                    claims, stopped, level = [], True, writes.NEXT_LEVEL[level]
                    writes.forget_old_rounds(pending)
                    continue
                lost = {i - first_claim for i in failed if first_claim <= i < first_deployment}
                if not lost or any(i < first_claim or i >= first_deployment for i in failed):
                    raise
                pending.taken += [c for i, c in enumerate(claims) if i in lost]
                claims = [c for i, c in enumerate(claims) if i not in lost]
