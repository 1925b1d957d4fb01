"""The sender and launcher under the faults a review found: races with pause and cancel, conflicts,
duplicates in one batch, retried fan-outs, give-ups, slow senders, queue backlogs."""

import collections

import pytest

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.contacts import optouts
from chalicelib.domain.deployments import fanout, launch, settlement
from chalicelib.domain.inbound import receipts
from chalicelib.domain.sending import optout_reads, sender
from chalicelib.domain.stats import verify
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Message, Recipient
from chalicelib.providers import Permanent
from tests.factories import (
    approved_deployment,
    create_optout,
    create_tenant,
)
from tests.faults import conflicts
from tests.sqs_events import LambdaContext, chunks_of, run_send_worker

A = [f"2782{n:07d}" for n in range(30)]
B = [f"2783{n:07d}" for n in range(30)]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))


def approve(api, tenant, numbers, **fields):
    return approved_deployment(api, tenant, numbers, **fields)


def statuses(deployment_id):
    return collections.Counter(r.status for r in Recipient.query(deployment_id, consistent_read=True))


def deployment_of(tenant, deployment_id):
    return Deployment.get(tenant.id, deployment_id, consistent_read=True)


def sent_once(gateway):
    return set(collections.Counter(s.to for s in gateway.sent).values()) <= {1}


def test_pausing_mid_group_and_resuming_sends_everyone_once(
    api, tenants, pump, gateway, at_time, small_chunks
):
    acme, _ = tenants
    numbers = [f"2786{n:07d}" for n in range(46)]  # three chunks of `small_chunks`: 20, 20 and 6

    def pause_in_the_third_group(sms, tries):
        if len(gateway.sent) == 10 and not pause_in_the_third_group.done:
            pause_in_the_third_group.done = True
            assert api.post(f"/deployments/{sms.deployment}/pause", acme.member).status == 200

    pause_in_the_third_group.done = False
    gateway.script = pause_in_the_third_group
    deployment_id = approve(api, acme, numbers)
    pump.drain()
    assert deployment_of(acme, deployment_id).status == 7
    assert api.post(f"/deployments/{deployment_id}/resume", acme.member).status == 200
    pump.drain()
    finished = deployment_of(acme, deployment_id)
    assert (finished.status, finished.error, finished.sent_count) == (4, None, 46)
    assert statuses(deployment_id) == {"sent": 46} and sent_once(gateway) and len(gateway.sent) == 46


def test_one_small_chunk_twice_in_one_batch_is_sent_once_and_recorded(
    api, tenants, gateway, at_time, captured
):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A[:10], captured)
    run_send_worker([chunk, chunk])
    assert statuses(deployment_id) == {"sent": 10} and len(gateway.sent) == 10
    assert deployment_of(acme, deployment_id).status == 4


def conflict_on_call(monkeypatch, number):
    """The `number`th transaction of the test is cancelled by a conflicting write, once."""
    conflicts(monkeypatch, {number})


def test_a_conflicting_write_is_retried_and_loses_no_status(
    api, tenants, gateway, at_time, captured, monkeypatch
):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured)
    conflict_on_call(monkeypatch, 2)  # group 1's statuses travel with group 2's claims
    run_send_worker([chunk])
    assert statuses(deployment_id) == {"sent": 30} and len(gateway.sent) == 30
    assert deployment_of(acme, deployment_id).status == 4


def test_a_conflict_loses_no_api_message_status_or_refund(api, tenants, gateway, captured, monkeypatch):
    acme, _ = tenants

    def refuse_one(sms, tries):
        if sms.to.endswith("03"):
            raise Permanent("InvalidNumber", "no such number")

    gateway.script = refuse_one
    items = [{"destination": f"2782{n:07d}", "message": "Hi"} for n in range(30)]
    assert api.post("/messages/bulk", acme.member, items).status == 202
    (batch_of,) = captured.take(queue_messages.SendMessages)
    conflict_on_call(monkeypatch, 2)
    run_send_worker([batch_of])
    assert collections.Counter(m.status for m in Message.query(acme.id)) == {"sent": 29, "failed": 1}
    assert Company.get(acme.id).credits == 1000 - 29


def test_a_paused_deployment_does_not_stop_the_next_records_of_the_batch(
    api, tenants, gateway, at_time, captured
):
    acme, _ = tenants
    first, (chunk_a,) = chunks_of(api, acme, A, captured)
    second, (chunk_b,) = chunks_of(api, acme, B, captured)
    answer = api.post("/messages/send", acme.member, {"message": "Your code", "destination": "0815854565"})
    (api_message,) = captured.take(queue_messages.SendMessages)

    def pause_first(sms, tries):
        if sms.to == A[-1]:
            assert api.post(f"/deployments/{first}/pause", acme.member).status == 200

    gateway.script = pause_first
    run_send_worker([chunk_a, chunk_b, api_message])
    assert statuses(first) == {"sent": 30}
    assert statuses(second) == {"sent": 30} and deployment_of(acme, second).status == 4
    assert Message.get(acme.id, answer.body["id"]).status == "sent"


def test_a_stale_rounds_chunk_after_the_current_ones_keeps_the_count(
    api, tenants, gateway, at_time, captured
):
    acme, _ = tenants
    deployment_id, (old,) = chunks_of(api, acme, A, captured)
    assert api.post(f"/deployments/{deployment_id}/pause", acme.member).status == 200
    assert api.post(f"/deployments/{deployment_id}/resume", acme.member).status == 200
    run_send_worker(captured.take(queue_messages.FanOut))
    (current,) = captured.take(queue_messages.SendChunk)
    run_send_worker([current, old])
    finished = deployment_of(acme, deployment_id)
    assert (finished.status, finished.sent_count) == (4, 30) and len(gateway.sent) == 30


def test_a_fan_out_given_up_lets_the_deployment_finish_and_refund(
    api, tenants, gateway, at_time, captured, monkeypatch
):
    acme, _ = tenants
    deployment_id = approve(api, acme, A)
    (step,) = captured.take(queue_messages.FanOut)
    monkeypatch.setattr(
        queue_messages, "enqueue_many", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("SQS down"))
    )
    for attempt in range(1, 6):
        run_send_worker([step], attempt=attempt)
    launch.launch_due()
    finished = deployment_of(acme, deployment_id)
    assert finished.status == 5 and "could not be started" in finished.error
    assert statuses(deployment_id) == {"failed": 30}
    assert Company.get(acme.id).credits == 1000


def test_a_chunk_given_up_lets_the_deployment_finish_at_once(
    api, tenants, gateway, at_time, captured, monkeypatch
):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured)
    gateway.script = lambda sms, tries: (
        (_ for _ in ()).throw(RuntimeError("bug")) if sms.to >= A[20] else None
    )
    for attempt in range(1, 6):
        run_send_worker([chunk], attempt=attempt)
    launch.launch_due()  # the same minute: no stall needed
    finished = deployment_of(acme, deployment_id)
    assert finished.status == 5 and finished.sent_count == 20
    assert Company.get(acme.id).credits == 1000 - 20


def test_a_fan_out_retried_after_its_chunks_ran_counts_and_sends_everyone(
    api, tenants, gateway, at_time, captured, monkeypatch
):
    acme, _ = tenants
    monkeypatch.setattr(fanout, "FANOUT_PAGE", 20)
    monkeypatch.setattr(fanout, "CHUNK", 10)
    numbers = [f"2784{n:07d}" for n in range(60)]
    deployment_id = approve(api, acme, numbers, marketing=False)
    (step,) = captured.take(queue_messages.FanOut)
    real_save = fanout.Claim.save
    crashes = {"left": 1}

    def crash_after_queueing(self, *args, **kwargs):
        if self.key.endswith("#queued") and crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("the worker died after queueing its chunks")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(fanout.Claim, "save", crash_after_queueing)
    run_send_worker([step])
    run_send_worker(captured.take(queue_messages.SendChunk))  # those chunks run meanwhile
    run_send_worker([step], attempt=2)
    while steps := captured.take(queue_messages.FanOut):
        run_send_worker(steps)
    run_send_worker(captured.take(queue_messages.SendChunk))
    finished = deployment_of(acme, deployment_id)
    assert (finished.expected, finished.status, finished.sent_count) == (60, 4, 60)
    assert len(gateway.sent) == 60 and sent_once(gateway)


def test_a_bulk_never_paid_for_refunds_nothing_when_given_up(api, tenants, gateway, captured, monkeypatch):
    from chalicelib.domain.sending import api_messages

    acme, _ = tenants
    monkeypatch.setattr(
        api_messages, "pay_for", lambda *args: (_ for _ in ()).throw(SystemExit("the API Lambda was killed"))
    )
    caller = Caller(company=acme.id, user=acme.member.user.id, role="member")
    with pytest.raises(SystemExit):
        api_messages.send_bulk(caller, [{"destination": f"2782{n:07d}", "message": "Hi"} for n in range(5)])
    (batch_of,) = captured.take(queue_messages.SendMessages)
    for attempt in range(1, 6):
        run_send_worker([batch_of], attempt=attempt)
    assert Company.get(acme.id).credits == 1000 and gateway.sent == []
    assert {m.status for m in Message.query(acme.id)} == {"failed"}


def test_api_marketing_honours_an_opt_out_of_its_sender(api, aws, pump, gateway, at_time):
    tenant = create_tenant("Zed", send_rate=1000, sender_id="ACME")
    create_optout(tenant.id, "27815854565", sender="ACME")
    answer = api.post(
        "/messages/send", tenant.member, {"message": "Sale!", "destination": "0815854565", "marketing": True}
    )
    pump.drain()
    assert Message.get(tenant.id, answer.body["id"]).status == "opted_out" and gateway.sent == []
    assert Company.get(tenant.id).credits == 1000


def test_chunks_waiting_behind_a_backlog_are_not_taken_for_a_stall(api, tenants, gateway, at_time, captured):
    acme, _ = tenants
    deployment_id, chunks = chunks_of(api, acme, A, captured)
    for later in ("10:11", "10:30", "13:00"):
        at_time(f"2026-11-26T{later}:00+02:00")
        launch.launch_due()
        assert deployment_of(acme, deployment_id).status == 3
    run_send_worker(chunks)
    assert statuses(deployment_id) == {"sent": 30} and deployment_of(acme, deployment_id).status == 4


def test_a_slow_sender_hands_back_what_it_cannot_send_before_its_deadline(
    api, aws, gateway, at_time, captured, virtual_time
):
    tenant = create_tenant("Slow", send_rate=2, credits=5000)
    deployment_id, chunks = chunks_of(
        api, tenant, [f"2785{n:07d}" for n in range(500)], captured, marketing=False
    )
    lives = 200  # seconds an invocation has: too few for 500 SMS at 2 a second
    run_send_worker(chunks, context=LambdaContext(lambda: int((lives - virtual_time["t"]) * 1000)))
    assert virtual_time["t"] < lives - 30  # stopped with time to spare
    handed_back = captured.take(queue_messages.SendChunk)
    assert handed_back and statuses(deployment_id)["sending"] == 0
    assert sum(len(c.recipients) for c in handed_back) == statuses(deployment_id)["queued"]
    while handed_back:
        began = virtual_time["t"]
        run_send_worker(
            handed_back, context=LambdaContext(lambda b=began: int((b + lives - virtual_time["t"]) * 1000))
        )
        assert virtual_time["t"] < began + lives - 30
        handed_back = captured.take(queue_messages.SendChunk)
    assert statuses(deployment_id) == {"sent": 500} and sent_once(gateway)


@pytest.mark.parametrize("stop", ["pause", "cancel"])
def test_a_pause_or_cancel_stops_the_next_sms_a_second_later_at_any_pace(
    api, aws, gateway, at_time, captured, monkeypatch, stop, virtual_time
):
    tenant = create_tenant("Slow", send_rate=1, credits=5000)
    deployment_id, chunks = chunks_of(api, tenant, A, captured, marketing=False)
    virtual = virtual_time
    monkeypatch.setattr(sender, "STATE_FRESH_SECONDS", 0.8)  # the production bound, on virtual time

    def stop_during_the_fourth(sms, tries):  # the gateway is taking the fourth SMS
        if len(gateway.sent) == 3 and tries == 1:
            assert api.post(f"/deployments/{deployment_id}/pause", tenant.member).status == 200
            if stop == "cancel":
                assert api.post(f"/deployments/{deployment_id}/cancel", tenant.member).status == 200

    gateway.script = stop_during_the_fourth
    run_send_worker(chunks, context=LambdaContext(lambda: 900_000))
    assert len(gateway.sent) == 4  # the group of 25 claimed at once stopped at its next SMS, a second on
    settled = deployment_of(tenant, deployment_id)
    if stop == "pause":
        assert statuses(deployment_id) == {"sent": 4, "queued": 26}
        assert api.post(f"/deployments/{deployment_id}/resume", tenant.member).status == 200
        virtual["t"] += 10
        run_send_worker(captured.take(queue_messages.FanOut))
        run_send_worker(captured.take(queue_messages.SendChunk), context=LambdaContext(lambda: 900_000))
        assert statuses(deployment_id) == {"sent": 30} and sent_once(gateway)
    else:
        # the cancel settled the held claims `unknown`; the sender gave them back unsent: they failed, free
        assert statuses(deployment_id) == {"sent": 4, "failed": 26}
        assert (settled.status, settled.total_credits, settled.credits_used) == (6, 4, 4)
        assert (settled.sent_count, settled.failed_count, settled.unknown_count) == (4, 26, 0)
        assert Company.get(tenant.id).credits == 5000 - 4
        from chalicelib.domain.deployments import final_counts

        assert final_counts.differences(settled) == []


def test_cancelling_with_a_group_in_flight_keeps_the_counts_true(
    api, tenants, gateway, at_time, captured, groups_of_25
):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured)

    def pause_and_cancel(sms, tries):
        if len(gateway.sent) == 10:
            assert api.post(f"/deployments/{deployment_id}/pause", acme.member).status == 200
            assert api.post(f"/deployments/{deployment_id}/cancel", acme.member).status == 200

    gateway.script = pause_and_cancel
    run_send_worker([chunk])
    settled = deployment_of(acme, deployment_id)
    assert settled.sent_count + settled.failed_count + settled.blocked_count == 30
    assert settled.credits_used == settled.total_credits
    assert Company.get(acme.id).credits == 1000 - settled.total_credits
    # the group in flight was settled `unknown` (unsent) first: its statuses moved the counts, once
    assert statuses(deployment_id) == {"sent": 25, "failed": 5}
    assert (settled.sent_count, settled.failed_count, settled.unknown_count) == (25, 5, 0)
    assert settled.total_credits == 25 and Company.get(acme.id).credits == 1000 - 25
    assert verify.verify(acme.id) == []


def test_two_launchers_finishing_one_deployment_do_not_fail(
    api, tenants, gateway, at_time, captured, monkeypatch
):
    acme, _ = tenants
    deployment_id, chunks = chunks_of(api, acme, A, captured)
    monkeypatch.setattr(settlement, "finish_if_done", lambda deployment, now: False)
    run_send_worker(chunks)
    monkeypatch.undo()
    first, second = deployment_of(acme, deployment_id), deployment_of(acme, deployment_id)
    assert settlement.finish_if_done(first, clock.now()) is True
    assert settlement.finish_if_done(second, clock.now()) is False
    assert Company.get(acme.id).credits == 1000 - 30


def test_a_worker_claiming_while_the_deployment_is_settled_is_charged(
    api, tenants, gateway, at_time, captured, monkeypatch
):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured)
    real_settled = settlement._settled
    ran = {}

    def worker_meanwhile(recipient, *args):
        if not ran:
            ran["once"] = True
            with monkeypatch.context() as inner:
                inner.setattr(settlement, "finish_if_done", lambda deployment, now: False)
                run_send_worker([chunk])  # claims and sends everyone while the settlement reads
        return real_settled(recipient, *args)

    monkeypatch.setattr(settlement, "_settled", worker_meanwhile)
    settlement.finish(deployment_of(acme, deployment_id))
    settled = deployment_of(acme, deployment_id)
    assert len(gateway.sent) == 30
    assert statuses(deployment_id)["failed"] == 0
    assert settled.total_credits == 30 and Company.get(acme.id).credits == 1000 - 30


def test_an_opt_out_at_approval_is_never_sent_even_if_lifted_and_never_costs(
    api, tenants, pump, gateway, at_time
):
    acme, _ = tenants
    numbers = [f"27826{n:06d}" for n in range(3)]
    lifted = [create_optout(acme.id, n) for n in numbers[:2]]
    deployment_id = approve(api, acme, numbers)
    assert deployment_of(acme, deployment_id).reserved == 1
    for optout in lifted:
        optouts.overwrite_record(optout, overwritten_by=None, source="admin")
    pump.drain()
    assert [s.to for s in gateway.sent] == [numbers[2]]
    assert statuses(deployment_id) == {"sent": 1, "opted_out": 2}
    assert Company.get(acme.id).credits == 999


def test_an_opt_out_mid_chunk_is_honoured_by_the_rest_of_the_chunk(
    api, tenants, pump, gateway, at_time, monkeypatch
):
    acme, _ = tenants
    monkeypatch.setattr(optout_reads, "FRESH_SECONDS", 0.0)
    numbers = [f"27825{n:06d}" for n in range(100)]
    late = numbers[60]

    def opt_out_early(sms, tries):
        if len(gateway.sent) == 10 and not opt_out_early.done:
            opt_out_early.done = True
            optouts.create(acme.id, late, None, "STOP", source="api")

    opt_out_early.done = False
    gateway.script = opt_out_early
    deployment_id = approve(api, acme, numbers)
    pump.drain()
    assert late not in {s.to for s in gateway.sent}
    assert Recipient.get(deployment_id, late).status == "opted_out"


def test_claims_a_crash_left_behind_are_recovered_and_the_deployment_finishes(
    api, tenants, gateway, at_time, captured, groups_of_25
):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured)

    class Crash(BaseException):
        pass

    def die(sms, tries):
        if len(gateway.sent) == 5:
            gateway.script = None
            raise Crash

    gateway.script = die
    with pytest.raises(Crash):
        run_send_worker([chunk])
    run_send_worker([chunk], attempt=2)  # SQS brings the chunk back: the rest is sent, the claims held
    assert statuses(deployment_id) == {"sending": 25, "sent": 5}
    at_time("2026-11-26T10:10:00+02:00")
    launch.launch_due()
    assert deployment_of(acme, deployment_id).status == 3  # a live worker might still hold them
    at_time("2026-11-26T10:20:00+02:00")
    launch.launch_due()
    finished = deployment_of(acme, deployment_id)
    counts = statuses(deployment_id)
    assert finished.status == 4 and counts["sending"] == 0 and counts["queued"] == 0
    assert 1 <= counts["unknown"] <= sender.GROUP and sent_once(gateway)
    assert finished.total_credits == 30 and Company.get(acme.id).credits == 1000 - 30


# ---- receipts meeting settlements: every recipient counted once ---------------------------------------


class Crash(BaseException):
    """The worker's Lambda dies (not an error the code could catch)."""


def crash_after_five(gateway):
    def die(sms, tries):
        if len(gateway.sent) == 5:
            gateway.script = None
            raise Crash

    gateway.script = die


def deliver(deployment_id, msisdn, company):
    receipt = receipts.Receipt(receipts.DELIVERED, reference=f"d{deployment_id}:{msisdn}")
    assert receipts.apply(receipt, company) == "applied"


def test_a_cancel_in_flight_then_a_fast_receipt_counts_once(api, tenants, gateway, at_time, captured):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured)

    def cancel_then_receipt(sms, tries):
        if len(gateway.sent) == 10:
            assert api.post(f"/deployments/{deployment_id}/pause", acme.member).status == 200
            assert api.post(f"/deployments/{deployment_id}/cancel", acme.member).status == 200
            deliver(deployment_id, gateway.sent[0].to, acme.id)

    gateway.script = cancel_then_receipt
    run_send_worker([chunk])
    assert verify.verify(acme.id) == []


def test_receipts_for_recovered_claims_are_not_counted_again(
    api, tenants, gateway, at_time, captured, groups_of_25
):
    """A dead worker's claims become `unknown`; their receipts arrive; the next recovery and the
    settlement must not take them for receipts that outran their sender (which would also push
    `processed` past `expected` and fail recipients never sent)."""
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured)
    crash_after_five(gateway)
    with pytest.raises(Crash):
        run_send_worker([chunk])
    at_time("2026-11-26T10:20:00+02:00")
    assert settlement.recover_lost_claims(deployment_of(acme, deployment_id), clock.now()) == 25
    assert api.get(f"/deployments/{deployment_id}", acme.member).body["unknown"] == 25
    for recipient in Recipient.query(deployment_id, consistent_read=True):
        if recipient.status == "unknown":
            deliver(deployment_id, recipient.msisdn, acme.id)
    counts = api.get(f"/deployments/{deployment_id}", acme.member).body
    assert (counts["unknown"], counts["delivered"]) == (0, 25)
    at_time("2026-11-26T10:40:00+02:00")
    launch.launch_due()  # a second recovery, and no early finish
    assert deployment_of(acme, deployment_id).processed == 25
    run_send_worker([chunk], attempt=2)  # SQS brings the chunk back: the other 5 go out
    assert statuses(deployment_id) == {"delivered": 25, "sent": 5}
    assert verify.verify(acme.id) == []
    settled = deployment_of(acme, deployment_id)  # the worker settled it once the last five were sent
    assert (settled.status, settled.sent_count, settled.failed_count, settled.total_credits) == (4, 30, 0, 30)
    assert (settled.delivered_count, settled.unknown_count) == (25, 0)


def test_a_give_up_that_cannot_be_written_fails_only_its_own_record(api, tenants, captured, monkeypatch):
    acme, _ = tenants
    assert (
        api.post("/messages/send", acme.member, {"message": "Hi", "destination": "0815850000"}).status == 201
    )
    (batch_of,) = captured.take(queue_messages.SendMessages)

    def gateway_down(self, batch):
        raise RuntimeError("gateway down")

    monkeypatch.setattr(sender.Sender, "send_messages", gateway_down)
    conflicts(monkeypatch, range(1, 100))
    result = run_send_worker([batch_of], attempt=5)
    assert len(result["batchItemFailures"]) == 1  # retried, then the dead-letter queue; nothing else rerun
    (message,) = Message.query(acme.id)
    assert message.status == "queued" and Company.get(acme.id).credits == 1000 - message.credits


def test_settling_a_deployment_settled_already_changes_nothing(api, tenants, gateway, captured):
    acme, _ = tenants
    deployment_id, (chunk,) = chunks_of(api, acme, A[:10], captured)
    run_send_worker([chunk])
    settled = deployment_of(acme, deployment_id)
    assert (settled.status, settled.total_credits, settled.sent_count) == (4, 10, 10)
    settlement.finish(settled)
    again = deployment_of(acme, deployment_id)
    assert (again.status, again.total_credits, again.sent_count, again.credits_used) == (4, 10, 10, 10)
    assert Company.get(acme.id).credits == 1000 - 10
