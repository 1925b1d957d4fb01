"""What a settlement reads: every recipient projected, page after page, and whole only those it must
change, 100 to a request; the counts it writes agree with the recipients either way."""

import collections

from chalicelib.domain.deployments import final_counts, settlement
from chalicelib.models import batch
from chalicelib.models.deployments import Deployment, Recipient, recipient_states
from tests.sqs_events import chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(30)]


def test_recipient_states_read_every_page_of_a_large_deployment(aws, dynamodb_calls):
    # Given 1,200 recipients of about 1 KB each: more than one 1 MB page of a Query
    numbers = [f"2784{n:07d}" for n in range(1200)]
    items = [
        Recipient(deployment=77, msisdn=n, company=1, message="x" * 1000, status="sent", segments=1)
        for n in numbers
    ]
    batch.write_items(Recipient.Meta.table_name, [r.serialize() for r in items])
    dynamodb_calls.clear()
    # When their states are read
    states = list(recipient_states(77))
    # Then every one comes back once, with its status and cost, over more than one page
    assert sorted(s.msisdn for s in states) == numbers
    assert {(s.status, s.segments, s.receipt) for s in states} == {("sent", 1, None)}
    assert [op for op, _ in dynamodb_calls].count("Query") >= 2


def test_a_settlement_reads_whole_only_the_recipients_it_settles(
    api, tenants, gateway, at_time, captured, monkeypatch, dynamodb_calls
):
    # Given a deployment whose worker sent everyone but did not finish it, and three recipients a
    # settlement must still change: one queued, one left `sending`, one `unknown` with no cost
    acme, _ = tenants
    deployment_id, chunks = chunks_of(api, acme, NUMBERS, captured, marketing=False)
    with monkeypatch.context() as unfinished:
        unfinished.setattr(settlement, "finish_if_done", lambda deployment, now: False)
        run_send_worker(chunks)
    for number, status in zip(NUMBERS[:3], ("queued", "sending", "unknown"), strict=True):
        Recipient(deployment=deployment_id, msisdn=number).update(
            actions=[Recipient.status.set(status), Recipient.segments.remove(), Recipient.date_sent.remove()]
        )
    unsettled = Deployment.get(acme.id, deployment_id, consistent_read=True)
    dynamodb_calls.clear()
    # When it is settled
    settlement.finish(unsettled)
    # Then the three alone were read whole, in one BatchGetItem, and settled (the other reads: the
    # company, twice, and each recipient changed, once after its write)
    ops = collections.Counter(op for op, _ in dynamodb_calls)
    assert (ops["Query"], ops["BatchGetItem"], ops["GetItem"]) == (1, 1, 5), ops
    statuses = collections.Counter(r.status for r in Recipient.query(deployment_id, consistent_read=True))
    assert statuses == {"sent": 27, "failed": 1, "unknown": 2}
    settled = Deployment.get(acme.id, deployment_id, consistent_read=True)
    assert (settled.sent_count, settled.failed_count, settled.unknown_count) == (27, 3, 2)
    assert settled.total_credits == 29 and final_counts.differences(settled) == []
