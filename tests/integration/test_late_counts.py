"""Late statuses on a settled deployment: a worker that dies before recounting, a receipt or a mark
that lands during a recount, and `stats verify` on a deployment cancelled before it went out."""

import collections

import pytest

from chalicelib.domain import clock
from chalicelib.domain.deployments import final_counts, launch
from chalicelib.domain.inbound import receipts
from chalicelib.domain.sending import sender, writes
from chalicelib.domain.stats.verify import verify
from chalicelib.models import dynamodb, sends
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient, recipient_key
from tests.factories import (
    approved_deployment,
    create_tenant,
    later,
)
from tests.sqs_events import LambdaContext, chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(5)]


class Crash(BaseException):
    """The Lambda dies (timeout, out of memory): nothing after this point runs."""


def test_a_crash_before_the_late_recount_leaves_no_credits_taken_for_what_was_never_sent(
    api, aws, gateway, at_time, captured, monkeypatch, virtual_time
):
    # The cancel scenario of test_sending_faults: 26 claims settled unknown are given back unsent late
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))
    tenant = create_tenant("Slow", send_rate=1, credits=5000)
    numbers = [f"2782{n:07d}" for n in range(30)]
    deployment_id, chunks = chunks_of(api, tenant, numbers, captured, marketing=False)
    monkeypatch.setattr(sender, "STATE_FRESH_SECONDS", 0.8)

    def cancel_during_the_fourth(sms, tries):
        if len(gateway.sent) == 3 and tries == 1:
            assert api.post(f"/deployments/{deployment_id}/pause", tenant.member).status == 200
            assert api.post(f"/deployments/{deployment_id}/cancel", tenant.member).status == 200

    gateway.script = cancel_during_the_fourth
    recount = final_counts.recount

    def crash(*args):
        raise Crash

    # The give-back commits, then the worker dies before it recounts the settled deployment
    monkeypatch.setattr(final_counts, "recount", crash)
    with pytest.raises(Crash):
        run_send_worker(chunks, context=LambdaContext(lambda: 900_000))
    monkeypatch.setattr(final_counts, "recount", recount)
    gateway.script = None
    run_send_worker(chunks, context=LambdaContext(lambda: 900_000))  # SQS delivers the chunk again
    launch.launch_due()  # the launcher's minute: it recounts what the dead worker marked
    settled = Deployment.get(tenant.id, deployment_id, consistent_read=True)
    recipients = collections.Counter(r.status for r in Recipient.query(deployment_id, consistent_read=True))
    assert recipients == {"sent": 4, "failed": 26} and len(gateway.sent) == 4
    assert final_counts.differences(settled) == [], (
        final_counts.differences(settled),
        Company.get(tenant.id).credits,
    )
    assert Company.get(tenant.id).credits == 5000 - 4


def test_verify_finds_nothing_wrong_with_an_approved_deployment_cancelled_before_it_went_out(
    api, tenants, gateway
):
    # Given a deployment approved for later (its quote and reservation written), then cancelled
    acme, _ = tenants
    deployment_id = approved_deployment(api, acme, NUMBERS, send_date=later(days=2))
    assert api.post(f"/deployments/{deployment_id}/cancel", acme.member).status == 200
    # Then nothing was used and nothing is wrong: `stats verify` must not report it
    assert gateway.sent == []
    assert verify(acme.id) == []


def test_a_receipt_landing_during_a_recount_is_not_counted_away(api, tenants, pump, gateway, monkeypatch):
    # Given a settled deployment whose counts agree with its recipients
    acme, _ = tenants
    deployment_id = approved_deployment(api, acme, NUMBERS, marketing=False)
    pump.drain()
    settled = Deployment.get(acme.id, deployment_id, consistent_read=True)
    assert settled.status in final_counts.FINAL and final_counts.differences(settled) == []
    # When a delivery receipt lands after a recount read the recipients, before it writes its counters
    read = final_counts.totals_of

    landed = []

    def receipt_meanwhile(recipients):
        totals = read(recipients)
        if not landed:  # once: the recount's retry reads again
            receipt = receipts.Receipt(receipts.DELIVERED, reference=f"d{deployment_id}:{NUMBERS[0]}")
            landed.append(receipts.apply(receipt, acme.id))
        return totals

    monkeypatch.setattr(final_counts, "totals_of", receipt_meanwhile)
    final_counts.recount(acme.id, deployment_id)
    monkeypatch.setattr(final_counts, "totals_of", read)
    # Then the deployment still counts the delivery its recipient holds
    after = Deployment.get(acme.id, deployment_id, consistent_read=True)
    assert final_counts.differences(after) == []


def test_a_recount_mark_left_by_a_worker_during_a_recount_is_not_wiped(
    api, tenants, pump, gateway, monkeypatch
):
    # Given a settled deployment with one recipient settled `unknown` (a claim a crash left), counted so
    acme, _ = tenants
    deployment_id = approved_deployment(api, acme, NUMBERS, marketing=False)
    pump.drain()
    lost = Recipient(deployment=deployment_id, msisdn=NUMBERS[0])
    lost.update(actions=[Recipient.status.set("unknown"), Recipient.date_sent.remove()])
    final_counts.recount(acme.id, deployment_id)
    assert final_counts.differences(Deployment.get(acme.id, deployment_id, consistent_read=True)) == []
    # When, while the launcher recounts, a late worker writes that recipient's real outcome and marks
    # the deployment for a recount (one transaction), then dies before recounting it itself
    read = final_counts.totals_of

    landed = []

    def late_outcome_meanwhile(recipients):
        totals = read(recipients)
        if landed:  # once: the recount's retry reads again
            return totals
        landed.append(True)
        item = recipient_key(deployment_id, NUMBERS[0])
        late = writes.outcome(Recipient.Meta.table_name, item, writes.Result("sent", 1, "late-1"))
        sends.outcome_over_unknown(late)
        mark = sends.recount_due(acme.id, deployment_id, clock.iso(clock.now()), final_counts.FINAL)
        dynamodb.transact([late, mark])
        return totals

    monkeypatch.setattr(final_counts, "totals_of", late_outcome_meanwhile)
    final_counts.recount(acme.id, deployment_id)
    monkeypatch.setattr(final_counts, "totals_of", read)
    launch.launch_due()  # the launcher's next minute recounts what is marked
    # Then the counts agree with the recipients again
    after = Deployment.get(acme.id, deployment_id, consistent_read=True)
    assert final_counts.differences(after) == [], after.launch_queue
