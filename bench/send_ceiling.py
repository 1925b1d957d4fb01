"""The sender's storage ceiling: the TransactWriteItems pattern the sender writes (per group of the
sender's GROUP within each fan-out chunk of CHUNK: the last group's statuses, this group's claims, the
deployment's counters and the hour rows), written raw
against the same embedded AWS with nothing else in between (no reads, no rendering, no pacing)."""

from __future__ import annotations

import time


def ceiling_sms_per_s(company: int, deployment: int, count: int) -> float:
    """SMS a second of the raw pattern for `count` recipients of a copy of `deployment` (in `company`)."""
    from chalicelib import aws
    from chalicelib.domain import clock
    from chalicelib.domain.deployments.fanout import CHUNK
    from chalicelib.domain.rules.lifecycle import SENDING, Delivery
    from chalicelib.domain.sending.sender import GROUP
    from chalicelib.domain.stats import periods, tally
    from chalicelib.models import batch, sends
    from chalicelib.models.deployments import Deployment, Recipient, recipient_key

    original = Deployment.get(company, deployment)
    copy = Deployment(**{**original.attribute_values, "id": deployment + 1_000_000, "status": SENDING})
    copy.save()
    table = Recipient.Meta.table_name
    numbers = [f"2783{n:07d}" for n in range(count)]
    batch.write_items(
        table,
        [
            Recipient(
                deployment=copy.id, msisdn=number, company=company, quoted=copy.version, first_name="N"
            ).serialize()
            for number in numbers
        ],
    )
    client = aws.client("dynamodb")
    last: list[str] = []
    started = time.perf_counter()
    groups = [
        numbers[c + g : min(c + g + GROUP, c + CHUNK)]
        for c in range(0, count, CHUNK)
        for g in range(0, CHUNK, GROUP)
    ]
    for group in [*[g for g in groups if g], []]:
        now = clock.now()
        claimed_at = periods.epoch(now)
        hours = tally.Tally()
        outcomes = [
            sends.outcome(table, recipient_key(copy.id, number), Delivery.SENT, now, 1, "none")
            for number in last
        ]
        for _ in last:
            hours.add(company, copy.id, now, "Africa/Johannesburg", "sent")
        claims = [sends.claim(table, recipient_key(copy.id, n), claimed_at, copy.round) for n in group]
        counts = {"processed": len(last), "sent_count": len(last), "credits_used": len(last)}
        counters = sends.deployment_counts(
            company, copy.id, counts, int(now.timestamp()), (SENDING,), copy.round
        )
        client.transact_write_items(TransactItems=[*outcomes, *claims, counters, *hours.updates()])
        last = group
    return count / (time.perf_counter() - started)
