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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws, queue_messages
from chalicelib.domain import clock
from chalicelib.domain.contacts import optouts
from chalicelib.domain.rules.lifecycle import PAUSED, SENDING
from chalicelib.domain.rules.quiet_hours import is_permitted, next_opening
from chalicelib.domain.rules.segments import cost
from chalicelib.domain.rules.templates import Template, compile_template
from chalicelib.domain.stats import rollup
from chalicelib.log import logger
from chalicelib.models.base import StillConflicting, back_off, transact_write
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Bulk, Deployment, Message, Recipient
from chalicelib.providers import Outgoing, Permanent, Retryable, provider

GROUP = 25
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)
DEFAULT_RATE = 20
RESERVE_MS = 60_000  # below this much time left, what is unsent goes back on the queue
OPTOUTS_FRESH_SECONDS = 10.0  # a chunk re-reads its opt-outs when its last read is older than this
CONFLICT_RETRIES = 6
STRICT, LOOSE, NONE = "strict", "loose", "none"  # how a flush conditions its deployment counters


class RetryLater(Exception):
    """The gateway kept failing with retryable errors: unsent recipients were released for a retry."""


@dataclass
class Result:
    """What became of one claimed recipient (or message)."""

    status: str
    segments: int = 0
    provider_id: str | None = None
    error: str | None = None


@dataclass
class _Pending:
    """Writes waiting for the next transaction: statuses, claims, and per-deployment counts."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    rounds: dict[tuple[int, int], int] = field(default_factory=dict)
    refunds: dict[int, int] = field(default_factory=dict)
    tally: rollup.Tally = field(default_factory=rollup.Tally)
    # what each status in `updates` adds to the hour counts: item name -> (company, deployment, hour
    # moment, zone, column, whether it is a late outcome that also takes back an `unknown`'s unsent)
    counted: dict[str, tuple] = field(default_factory=dict)


class Pacer:
    """Keeps one worker under its share of a sender's messages-per-second limit."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + self.interval


class Sender:
    """One worker invocation's sending: chunks in order, groups of 25, statuses riding with claims."""

    def __init__(self, time_left_ms: Callable[[], int], concurrency: int) -> None:
        self.time_left_ms = time_left_ms
        self.concurrency = concurrency
        self.pending = _Pending()
        self.gateway = provider()
        self.pacers: dict[tuple[int, str], Pacer] = {}
        self.companies: dict[int, Company] = {}
        self.touched: set[tuple[int, int]] = set()
        self._last_claimed: set[str] = set()
        self._claimed_at = clock.now()
        self._bulks: dict[int, str | None] = {}

    # ---- deployments -------------------------------------------------------------------------

    def send_chunk(self, chunk: queue_messages.SendChunk) -> None:
        company = self._company(chunk.company)
        template = compile_template(chunk.message)
        key = (chunk.company, chunk.deployment)
        blocked: set[str] = set()
        checked_at = -OPTOUTS_FRESH_SECONDS
        for start in range(0, len(chunk.recipients), GROUP):
            if chunk.marketing and company.quiet_hours and not _permitted(company):
                pause(chunk.company, chunk.deployment, company)
                self.flush()
                return
            if self.time_left_ms() < RESERVE_MS:
                self.flush()
                queue_messages.enqueue(dataclasses.replace(chunk, recipients=chunk.recipients[start:]))
                return
            if chunk.marketing and time.monotonic() - checked_at > OPTOUTS_FRESH_SECONDS:
                # A STOP that arrives mid-chunk is honoured within seconds, not only from the next chunk.
                rest = [r["msisdn"] for r in chunk.recipients[start:]]
                blocked = optouts.opted_out(chunk.company, chunk.sender or None, rest)
                checked_at = time.monotonic()
            group = chunk.recipients[start : start + GROUP]
            claimed = self._claim(
                key, chunk.round, [_recipient_key(chunk.deployment, r["msisdn"]) for r in group]
            )
            if claimed is None:
                return
            for recipient in group:
                if recipient["msisdn"] not in claimed:
                    continue
                if recipient["msisdn"] in blocked:
                    self._recipient_done(chunk, recipient, Result("opted_out"))
                    continue
                text = _text(template, chunk.optout_text, recipient)
                sms = Outgoing(
                    to=recipient["msisdn"],
                    sender=chunk.sender or None,
                    text=text,
                    segments=cost(text).segments,
                    marketing=chunk.marketing,
                    reference=f"d{chunk.deployment}:{recipient['msisdn']}",
                    deployment=chunk.deployment,
                )
                self._recipient_done(
                    chunk,
                    recipient,
                    self._deliver(sms, company, chunk.sender, release=self._release_recipients(chunk, group)),
                )
        self.touched.add(key)

    def _claim(self, key: tuple[int, int], round_: int, keys: list[dict[str, Any]]) -> set[str] | None:
        """Claim `keys` for sending (in the transaction that also writes the last group's statuses).
        Returns the numbers now ours, or None if the deployment is no longer sending this round."""
        if set(self.pending.rounds.items()) - {(key, round_)}:
            # Another deployment's (or round's) statuses go alone: its state must not decide these claims.
            self.flush()
        done = {_claim_name(u) for u in self.pending.updates}
        self._claimed_at = clock.now()
        for item in keys:
            if item["msisdn"]["S"] not in done:  # the same recipient twice in one batch: already ours
                self.pending.claims.append(
                    _claim_of(Recipient.Meta.table_name, item, self._claimed_at, round_)
                )
        self.pending.rounds[key] = round_
        return self.flush(claiming=key)

    def _recipient_done(self, chunk: queue_messages.SendChunk, recipient: dict, result: Result) -> None:
        key = _recipient_key(chunk.deployment, recipient["msisdn"])
        outcome = _outcome(Recipient.Meta.table_name, key, result)
        self.pending.updates.append(outcome)
        counts = self.pending.counts.setdefault((chunk.company, chunk.deployment), {})
        counts["processed"] = counts.get("processed", 0) + 1
        name = {"sent": "sent_count", "failed": "failed_count", "opted_out": "blocked_count"}[result.status]
        counts[name] = counts.get(name, 0) + 1
        tz = self._company(chunk.company).timezone
        col = rollup.column(result.status)
        self.pending.tally.add(chunk.company, chunk.deployment, self._claimed_at, tz, col)
        self.pending.counted[_item_name(outcome)] = (
            chunk.company,
            chunk.deployment,
            self._claimed_at,
            tz,
            col,
            False,
        )
        if result.status == "sent":
            counts["credits_used"] = counts.get("credits_used", 0) + result.segments
        self.pending.rounds.setdefault((chunk.company, chunk.deployment), chunk.round)

    def _release_recipients(
        self, chunk: queue_messages.SendChunk, group: list[dict]
    ) -> Callable[[set[str]], None]:
        def key_of(msisdn: str) -> dict[str, Any]:
            return _recipient_key(chunk.deployment, msisdn)

        def release(unsent: set[str]) -> None:
            for recipient in group:
                if recipient["msisdn"] in unsent:
                    self.pending.updates.append(
                        _move(
                            Recipient.Meta.table_name,
                            _recipient_key(chunk.deployment, recipient["msisdn"]),
                            "queued",
                            expect="sending",
                        )
                    )

        return release

    # ---- API messages ----------------------------------------------------------------------------

    def send_messages(self, batch_of: queue_messages.SendMessages) -> None:
        """API messages: sent once paid for (a bulk's reservation), marketing ones only in permitted
        hours and never to opted-out numbers; a failure or an opt-out gives its credits back."""
        if self.pending.rounds:
            self.flush()  # a deployment's statuses go alone: its state must not decide these claims
        company = self._company(batch_of.company)
        found = {m.id: m for m in Message.batch_get([(batch_of.company, i) for i in batch_of.ids])}
        if len(found) < len(set(batch_of.ids)):
            raise RetryLater("some messages are not written yet")
        queued = [found[i] for i in dict.fromkeys(batch_of.ids) if found[i].status == "queued"]
        unpaid = [m for m in queued if m.bulk is not None and self._bulk(m) != "paid"]
        if any(self._bulk(m) is None for m in unpaid):
            raise RetryLater("a bulk request is not settled yet")
        waiting = [m for m in queued if m.marketing and company.quiet_hours and not _permitted(company)]
        if waiting:
            opening = next_opening(clock.now(), company.timezone, company.default_region)
            delay = int(min(900, max(1, (opening - clock.now()).total_seconds())))
            queue_messages.enqueue(
                queue_messages.SendMessages(company=batch_of.company, ids=[m.id for m in waiting]), delay
            )
        ready = [m for m in queued if m not in waiting]
        blocked = _blocked_messages(batch_of.company, ready)
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
                        Result("failed", error="not paid: the bulk request was refused"),
                        refund=False,
                    )
                elif message.id in blocked:
                    self._message_done(message, Result("opted_out"), refund=True)
                else:
                    sms = Outgoing(
                        to=message.destination,
                        sender=message.sender,
                        text=message.text,
                        segments=message.segments,
                        marketing=message.marketing,
                        reference=f"m{message.company}:{message.id}",
                    )
                    result = self._deliver(
                        sms, company, message.sender, release=self._release_messages(group)
                    )
                    self._message_done(message, result, refund=result.status != "sent")

    def _bulk(self, message: Message) -> str | None:
        if message.bulk not in self._bulks:
            found = Bulk.get_or_none(message.company, message.bulk, consistent_read=True)
            self._bulks[message.bulk] = found.status if found else None
        return self._bulks[message.bulk]

    def _claim_messages(self, group: list[Message]) -> set[int]:
        done = {_claim_name(u) for u in self.pending.updates}
        self._claimed_at = clock.now()
        for message in group:
            if f"m#{message.id}" not in done:
                self.pending.claims.append(
                    _claim_of(Message.Meta.table_name, _message_key(message), self._claimed_at)
                )
        self.flush()
        return {int(key.split("#", 1)[1]) for key in self._last_claimed if key.startswith("m#")}

    def _message_done(self, message: Message, result: Result, refund: bool) -> None:
        outcome = _outcome(Message.Meta.table_name, _message_key(message), result)
        self.pending.updates.append(outcome)
        tz = self._company(message.company).timezone
        col = rollup.column(result.status)
        self.pending.tally.add(message.company, None, self._claimed_at, tz, col)
        self.pending.counted[_item_name(outcome)] = (message.company, None, self._claimed_at, tz, col, False)
        if refund:
            self.pending.refunds[message.company] = (
                self.pending.refunds.get(message.company, 0) + message.credits
            )

    def _release_messages(self, group: list[Message]) -> Callable[[set[str]], None]:
        def release(unsent: set[str]) -> None:
            for message in group:
                if f"m#{message.id}" in unsent:
                    self.pending.updates.append(
                        _move(Message.Meta.table_name, _message_key(message), "queued", expect="sending")
                    )

        return release

    # ---- the gateway ---------------------------------------------------------------------------

    def _deliver(
        self, sms: Outgoing, company: Company, sender: str | None, release: Callable[[set[str]], None]
    ) -> Result:
        """One SMS through the gateway at the sender's pace; retryable errors back off and, if they
        persist, release what is unsent in the group and hand the chunk back to SQS."""
        pacer = self._pacer(company, sender or "")
        for attempt, pause_seconds in enumerate((*BACKOFF_SECONDS, None)):
            pacer.wait()
            try:
                provider_id = self.gateway.send(sms)
            except Permanent as error:
                return Result("failed", error=f"{error.code}: {error.message}")
            except Retryable as error:
                if pause_seconds is None:
                    release(self._unsent_claims())
                    self.flush()
                    raise RetryLater(f"{error.code} after {attempt + 1} attempts") from error
                time.sleep(pause_seconds)
                continue
            return Result("sent", segments=sms.segments, provider_id=provider_id)
        raise AssertionError("unreachable")

    def _unsent_claims(self) -> set[str]:
        """Numbers claimed in the last claim transaction that have no status yet."""
        done = {_claim_name(u) for u in self.pending.updates}
        return {c for c in self._last_claimed if c not in done}

    def _pacer(self, company: Company, sender: str) -> Pacer:
        key = (company.id, sender)
        if key not in self.pacers:
            rate = (company.send_rate or DEFAULT_RATE) / max(1, self.concurrency)
            self.pacers[key] = Pacer(rate)
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
        pending, self.pending = self.pending, _Pending()
        try:
            claims, stopped = self._write(pending)
        except Exception:
            pending.claims = []
            self.pending = _merge(pending, self.pending)
            raise
        self._last_claimed = {_claim_name(c) for c in claims}
        if stopped and claiming is not None:
            return None
        return self._last_claimed

    def _write(self, pending: _Pending) -> tuple[list[dict[str, Any]], bool]:
        claims, stopped, level, conflicts = list(pending.claims), False, STRICT, 0
        while True:
            deployments = self._deployment_updates(pending, require_sending=bool(claims), level=level)
            actions = pending.updates + claims + deployments + _refunds(pending) + pending.tally.updates()
            if not actions:
                return claims, stopped
            try:
                aws.client("dynamodb").transact_write_items(TransactItems=actions)
                return claims, stopped
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons") or []]
                failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
                if not failed and "TransactionConflict" in reasons and conflicts < CONFLICT_RETRIES:
                    # Every worker's flush touches the deployment's counters: a conflict is routine.
                    conflicts += 1
                    back_off(conflicts)
                    continue
                first_claim, first_deployment = len(pending.updates), len(pending.updates) + len(claims)
                if any(i < first_claim for i in failed):
                    _settle_late(pending, sorted(i for i in failed if i < first_claim))
                    continue
                last_deployment = first_deployment + len(deployments)
                if any(first_deployment <= i < last_deployment for i in failed) and level != NONE:
                    # The deployment moved on: keep the statuses, claim nothing more, leave a newer
                    # round's completion count alone, and add to no counter of a settled deployment.
                    claims, stopped, level = [], True, LOOSE if level == STRICT else NONE
                    _forget_old_rounds(pending)
                    continue
                lost = {i - first_claim for i in failed if first_claim <= i < first_deployment}
                if not lost or any(i < first_claim or i >= first_deployment for i in failed):
                    raise
                claims = [c for i, c in enumerate(claims) if i not in lost]

    def _deployment_updates(
        self, pending: _Pending, require_sending: bool, level: str
    ) -> list[dict[str, Any]]:
        """Counter updates for each deployment, conditional on its round (and, with claims, on its
        sending) when `level` is STRICT, on its not being settled when LOOSE; none when NONE."""
        updates: list[dict[str, Any]] = []
        if level == NONE:
            return updates
        for (company, deployment), round_ in pending.rounds.items():
            counts = pending.counts.get((company, deployment), {})
            parts = [f"#{name} :{name}" for name in counts]
            values = {f":{name}": {"N": str(n)} for name, n in counts.items()}
            counter_names = {f"#{name}": name for name in counts}
            values[":now"] = {"N": str(int(clock.now().timestamp()))}
            expression = ("ADD " + ", ".join(parts) + " " if parts else "") + "SET #progress = :now"
            names = {**counter_names, "#progress": "last_progress"}
            update: dict[str, Any] = {
                "TableName": Deployment.Meta.table_name,
                "Key": {"company": {"N": str(company)}, "id": {"N": str(deployment)}},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
            names["#status"] = "status"
            values[":sending"] = {"N": str(SENDING)}
            if level == STRICT:
                values[":round"] = {"N": str(round_)}
                names["#round"] = "round"
                condition = "#round = :round"
                if require_sending:
                    condition += " AND #status = :sending"
                else:
                    condition += " AND #status IN (:sending, :paused)"
                    values[":paused"] = {"N": str(PAUSED)}
            else:
                condition = "#status IN (:sending, :paused)"
                values[":paused"] = {"N": str(PAUSED)}
            update["ConditionExpression"] = condition
            updates.append({"Update": update})
        return updates


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
    except Exception as error:
        if "ConditionalCheckFailed" not in str(error):
            raise


def _forget_old_rounds(pending: _Pending) -> None:
    """Recipients of a round that is over still count as sent or failed, but not towards the
    completion count (`processed`) of the round that replaced it."""
    for (company, deployment), round_ in pending.rounds.items():
        current = Deployment.get(company, deployment, consistent_read=True)
        if current.round != round_:
            pending.counts.get((company, deployment), {}).pop("processed", None)


def _permitted(company: Company) -> bool:
    return is_permitted(clock.now(), company.timezone, company.default_region)


def _claim_of(table: str, key: dict[str, Any], moment: datetime, round_: int | None = None) -> dict[str, Any]:
    """queued → sending, stamped (with the deployment's round): a claim older than a worker can live
    belongs to a dead one, and the launcher recovers it; the stamp is also the hour it is counted in."""
    claim = _move(table, key, "sending", expect="queued")
    update = claim["Update"]
    update["UpdateExpression"] += ", #claimed = :claimed"
    update["ExpressionAttributeNames"]["#claimed"] = "claimed_at"
    update["ExpressionAttributeValues"][":claimed"] = {"N": str(rollup.epoch(moment))}
    if round_ is not None:
        update["UpdateExpression"] += ", #claim_round = :claim_round"
        update["ExpressionAttributeNames"]["#claim_round"] = "claim_round"
        update["ExpressionAttributeValues"][":claim_round"] = {"N": str(round_)}
    return claim


def _merge(first: _Pending, then: _Pending) -> _Pending:
    """Writes that failed, put back in front of any added since."""
    merged = _Pending(
        updates=first.updates + then.updates,
        claims=then.claims,
        rounds={**first.rounds, **then.rounds},
        refunds=dict(first.refunds),
    )
    merged.tally.merge(first.tally)
    merged.tally.merge(then.tally)
    merged.counted = {**first.counted, **then.counted}
    for key, counts in [*first.counts.items(), *then.counts.items()]:
        into = merged.counts.setdefault(key, {})
        for name, n in counts.items():
            into[name] = into.get(name, 0) + n
    for company, n in then.refunds.items():
        merged.refunds[company] = merged.refunds.get(company, 0) + n
    return merged


def _blocked_messages(company: int, ready: list[Message]) -> set[int]:
    """The marketing messages among `ready` whose number opted out of their sender (or of all)."""
    by_sender: dict[str | None, list[Message]] = {}
    for message in ready:
        if message.marketing:
            by_sender.setdefault(message.sender, []).append(message)
    blocked = set()
    for sender, group in by_sender.items():
        out = optouts.opted_out(company, sender, [m.destination for m in group])
        blocked |= {m.id for m in group if m.destination in out}
    return blocked


def _move(table: str, key: dict[str, Any], to: str, expect: str) -> dict[str, Any]:
    """A status change that happens only from `expect` (a claim, or giving a claim back)."""
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "SET #status = :to",
            "ConditionExpression": "#status = :expect",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":to": {"S": to}, ":expect": {"S": expect}},
        }
    }


def _outcome(table: str, key: dict[str, Any], result: Result) -> dict[str, Any]:
    """Write what became of a claimed recipient or message (the claim makes it ours alone). A delivery
    receipt can beat this write (a fast network, a slow group): its status stands. Conditional on no
    settlement having written for us (a stamped `date_sent`, or a status other than `sending`)."""
    values: dict[str, Any] = {":status": {"S": result.status}, ":at": {"S": _stamp()}}
    names = {"#status": "status", "#at": "date_sent", "#receipt": "receipt"}
    parts = ["#status = if_not_exists(#receipt, :status)", "#at = :at"]
    for name, value in (
        ("segments", result.segments),
        ("provider_id", result.provider_id),
        ("error", result.error),
    ):
        if value:
            names[f"#{name}"] = name
            parts.append(f"#{name} = :{name}")
            values[f":{name}"] = {"N": str(value)} if isinstance(value, int) else {"S": value[:500]}
    values[":sending"] = {"S": "sending"}
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "SET " + ", ".join(parts),
            "ConditionExpression": (
                "(#status = :sending OR attribute_exists(#receipt)) AND attribute_not_exists(#at)"
            ),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _settle_late(pending: _Pending, failed: list[int]) -> None:
    """Statuses whose condition failed: the claim was settled without us. One a settlement marked
    `unknown` (the deployment finished, or the claim looked lost) gets its real outcome, its count
    moving from unsent; anything else is dropped with its count (a give-back of a settled claim)."""
    client = aws.client("dynamodb")
    for index in reversed(failed):
        update = pending.updates[index]["Update"]
        name = _item_name(pending.updates[index])
        counted = pending.counted.pop(name, None)
        item = client.get_item(TableName=update["TableName"], Key=update["Key"], ConsistentRead=True).get(
            "Item"
        )
        status = item["status"]["S"] if item else None
        if counted is not None and status == "unknown" and not counted[5]:
            update["ConditionExpression"] = "#status = :unknown AND attribute_not_exists(#at)"
            update["ExpressionAttributeValues"].pop(":sending")
            update["ExpressionAttributeValues"][":unknown"] = {"S": "unknown"}
            company, deployment, moment, tz, _, _ = counted
            pending.tally.add(company, deployment, moment, tz, "unsent", -1)
            pending.counted[name] = (*counted[:5], True)
            if deployment is not None:  # its settlement counted it processed (and failed) already
                counts = pending.counts.setdefault((company, deployment), {})
                counts["processed"] = counts.get("processed", 0) - 1
                counts["failed_count"] = counts.get("failed_count", 0) - 1
            continue
        del pending.updates[index]
        if counted is not None:
            company, deployment, moment, tz, col, late = counted
            pending.tally.add(company, deployment, moment, tz, col, -1)
            if late:
                pending.tally.add(company, deployment, moment, tz, "unsent", 1)
        logger.warning("a status settled elsewhere was dropped", item=name, status=status)


def _item_name(action: dict[str, Any]) -> str:
    update = action["Update"]
    return update["TableName"] + ":" + ":".join(f"{k}={v}" for k, v in sorted(update["Key"].items()))


def _refunds(pending: _Pending) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": Company.Meta.table_name,
                "Key": {"id": {"N": str(company)}},
                "UpdateExpression": "ADD credits :refund",
                "ExpressionAttributeValues": {":refund": {"N": str(n)}},
            }
        }
        for company, n in pending.refunds.items()
        if n
    ]


def _claim_name(action: dict[str, Any]) -> str:
    """The number a recipient claim or status is for, or `m#<id>` for an API message."""
    key = action["Update"]["Key"]
    return key["msisdn"]["S"] if "msisdn" in key else f"m#{key['id']['N']}"


def _message_key(message: Message) -> dict[str, Any]:
    return {"company": {"N": str(message.company)}, "id": {"N": str(message.id)}}


def _recipient_key(deployment: int, msisdn: str) -> dict[str, Any]:
    return {"deployment": {"N": str(deployment)}, "msisdn": {"S": msisdn}}


def _text(template: Template, optout_text: str, recipient: dict) -> str:
    text = recipient.get("message") or template.render(recipient)
    return f"{text}\n{optout_text}" if optout_text else text


def _stamp() -> str:
    return Recipient.date_sent.serialize(clock.now())


def fail_messages(company: int, ids: list[int], reason: str) -> None:
    """API messages that can no longer be sent fail, and their credits go back (once each) — if they
    were ever taken: a bulk request whose payment never happened refunds nothing."""
    bulks: dict[int, bool] = {}
    busy: list[int] = []
    tz = Company.get(company).timezone
    for message in Message.batch_get([(company, i) for i in ids]):
        if message.status != "queued":
            continue
        paid = True
        if message.bulk is not None:
            if message.bulk not in bulks:
                found = Bulk.get_or_none(company, message.bulk, consistent_read=True)
                bulks[message.bulk] = found is not None and found.status == "paid"
            paid = bulks[message.bulk]
        now = clock.now()
        failed = _move(Message.Meta.table_name, _message_key(message), "failed", expect="queued")
        failed["Update"]["UpdateExpression"] += ", #error = :error, #claimed = :claimed"
        failed["Update"]["ExpressionAttributeNames"].update({"#error": "error", "#claimed": "claimed_at"})
        failed["Update"]["ExpressionAttributeValues"].update(
            {":error": {"S": reason[:500]}, ":claimed": {"N": str(rollup.epoch(now))}}
        )
        pending = _Pending(refunds={company: message.credits if paid else 0})
        pending.tally.add(company, None, now, tz, "unsent")
        try:
            transact_write([failed, *_refunds(pending), *pending.tally.updates()])
        except StillConflicting:
            busy.append(message.id)  # the others are still failed; this one raises below
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons") or []]
            if "ConditionalCheckFailed" not in reasons:
                raise
            logger.info("message settled elsewhere meanwhile", message=message.id)
    if busy:
        raise StillConflicting(f"messages {busy} could not be failed: their writes kept conflicting")
