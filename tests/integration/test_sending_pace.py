"""A sender's pace: every worker sending for one sender id together stays within its send_rate, and a
deployment that fits in one chunk goes at that whole rate."""

import collections

import pytest

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.models import counters
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message, Recipient
from tests.factories import create_optout
from tests.sqs_events import LambdaContext, chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(30)]
RATE = 20
EXPIRES = 2_000_000_000


@pytest.fixture
def timed_gateway(gateway, virtual_time, monkeypatch):
    sent_at = []
    real = gateway._send

    def send(sms):
        sent_at.append((sms.to, virtual_time["t"]))
        return real(sms)

    monkeypatch.setattr(gateway, "_send", send)
    return sent_at


def at_rate(tenant, rate):
    Company(id=tenant.id).update(actions=[Company.send_rate.set(rate)])


def most_in_one_second(moments):
    moments = sorted(moments)
    return max(sum(1 for m in moments if start <= m < start + 1 - 1e-9) for start in moments)


def test_a_one_chunk_deployment_goes_at_its_senders_whole_rate(
    api, tenants, gateway, at_time, captured, virtual_time, timed_gateway
):
    acme, _ = tenants
    at_rate(acme, RATE)
    _, chunks = chunks_of(api, acme, NUMBERS[:25], captured)
    started = virtual_time["t"]
    run_send_worker(chunks)
    moments = [m for _, m in timed_gateway]
    assert len(moments) == 25
    pace = (len(moments) - 1) / (moments[-1] - started)
    assert 0.8 * RATE <= pace <= RATE + 1e-6, pace


def test_two_one_chunk_deployments_of_one_sender_at_once_share_its_rate(
    api, tenants, gateway, at_time, captured, virtual_time, timed_gateway
):
    acme, _ = tenants
    at_rate(acme, RATE)
    _, first = chunks_of(api, acme, NUMBERS[:20], captured)
    _, second = chunks_of(api, acme, NUMBERS[20:], captured)
    assert len(first) == len(second) == 1
    started = virtual_time["t"]
    run_send_worker(first)  # worker 1
    virtual_time["t"] = started  # worker 2 began at the same moment, on another machine
    run_send_worker(second)
    moments = [m for _, m in timed_gateway]
    assert len(moments) == 30
    assert most_in_one_second(moments) <= RATE
    second_began = min(m for n, m in timed_gateway if n in NUMBERS[20:])
    assert second_began >= max(m for n, m in timed_gateway if n in NUMBERS[:20])


def test_another_companys_sender_keeps_its_own_timeline(
    api, tenants, gateway, at_time, captured, virtual_time, timed_gateway
):
    acme, bravo = tenants
    at_rate(acme, RATE)
    at_rate(bravo, RATE)
    _, first = chunks_of(api, acme, NUMBERS[:20], captured)
    _, second = chunks_of(api, bravo, NUMBERS[:20], captured)
    started = virtual_time["t"]
    run_send_worker(first)
    virtual_time["t"] = started
    run_send_worker(second)
    assert virtual_time["t"] - started < 1.0  # bravo's twenty went in bravo's own first second


def test_reserved_spans_follow_each_other_and_an_idle_timeline_starts_again_now(aws):
    assert counters.reserve_span("pace#1#x", 500, 10_000, EXPIRES, idle=True) == (10_000, True)
    assert counters.reserve_span("pace#1#x", 500, 10_100, EXPIRES, idle=True) == (10_500, False)
    assert counters.reserve_span("pace#1#x", 200, 10_200, EXPIRES, idle=False) == (11_000, False)
    assert counters.reserve_span("pace#1#x", 100, 60_000, EXPIRES, idle=False) == (60_000, True)
    assert counters.reserve_span("pace#1#x", 100, 60_000, EXPIRES, idle=True) == (60_100, False)
    assert counters.reserve_span("pace#1#new", 100, 5_000, EXPIRES, idle=False) == (5_000, True)


def test_a_worker_reserving_while_another_restarts_an_idle_timeline_goes_after_it(aws, monkeypatch):
    """Worker A's extension finds the end passed; before A starts the timeline again, worker B does."""
    counters.reserve_span("pace#1#x", 100, 1_000, EXPIRES, idle=True)  # ends at 1,100: long passed
    real = counters._restart
    raced = []

    def restart(*args, **kwargs):
        if not raced and kwargs.get("ended_at") is not None:
            raced.append(counters.reserve_span("pace#1#x", 300, 50_000, EXPIRES, idle=True))
        return real(*args, **kwargs)

    monkeypatch.setattr(counters, "_restart", restart)
    start, _ = counters.reserve_span("pace#1#x", 200, 50_000, EXPIRES, idle=False)
    assert raced == [(50_000, True)]
    assert start == 50_300  # after B's span, not over it


def book_ahead(tenant, seconds, sender=""):
    """Another worker has booked the sender's timeline `seconds` ahead of the virtual clock's now."""
    now_ms = clock.epoch_ms()
    counters.reserve_span(f"pace#{tenant.id}#{sender}", seconds * 1000, now_ms, EXPIRES, idle=True)


def test_a_chunk_whose_turn_comes_after_its_invocation_ends_goes_back_on_the_queue_unsent(
    api, tenants, gateway, at_time, captured, virtual_time, timed_gateway, queue_delays
):
    acme, _ = tenants
    at_rate(acme, RATE)
    deployment_id, chunks = chunks_of(api, acme, NUMBERS[:10], captured)
    book_ahead(acme, 870)
    run_send_worker(chunks, context=LambdaContext(lambda: int((900 - virtual_time["t"]) * 1000)))
    assert timed_gateway == [] and virtual_time["t"] < 1  # it did not sleep into its own deadline
    (handed_back,) = captured.take(queue_messages.SendChunk)
    assert [r["msisdn"] for r in handed_back.recipients] == NUMBERS[:10]
    assert {r.status for r in Recipient.query(deployment_id)} == {Delivery.QUEUED}
    assert queue_delays[-1] == 870


def test_api_messages_whose_turn_comes_too_late_go_back_on_the_queue_unsent(
    api, tenants, gateway, at_time, captured, virtual_time, timed_gateway, queue_delays
):
    acme, _ = tenants
    at_rate(acme, RATE)
    items = [{"destination": n, "message": "Hi"} for n in NUMBERS[:5]]
    assert api.post("/messages/bulk", acme.member, items).status == 202
    (batch_of,) = captured.take(queue_messages.SendMessages)
    run_send_worker([batch_of])
    assert len(timed_gateway) == 5
    items = [{"destination": n, "message": "Again"} for n in NUMBERS[5:10]]
    assert api.post("/messages/bulk", acme.member, items).status == 202
    (batch_of,) = captured.take(queue_messages.SendMessages)
    book_ahead(acme, 2_000)
    run_send_worker([batch_of], context=LambdaContext(lambda: int((900 - virtual_time["t"]) * 1000)))
    assert len(timed_gateway) == 5
    (handed_back,) = captured.take(queue_messages.SendMessages)
    assert sorted(handed_back.ids) == sorted(batch_of.ids) and queue_delays[-1] == 900
    assert collections.Counter(m.status for m in Message.query(acme.id)) == {"sent": 5, "queued": 5}


def test_what_a_chunk_reserved_for_recipients_it_skipped_goes_back_to_the_timeline(
    api, tenants, gateway, at_time, captured, virtual_time, timed_gateway
):
    """Half a chunk's recipients opted out since its fan-out: its worker reserved their sends too, and
    gives them back, so the sender's next deployment starts when the sends made end, not the span."""
    acme, _ = tenants
    at_rate(acme, RATE)
    _, first = chunks_of(api, acme, NUMBERS[:20], captured)
    for number in NUMBERS[10:20]:  # after the fan-out: the first send reserved for all twenty
        create_optout(acme.id, number)
    _, second = chunks_of(api, acme, NUMBERS[20:30], captured)
    started = virtual_time["t"]
    run_send_worker(first)
    virtual_time["t"] = started  # the second worker began at the same moment
    run_send_worker(second)
    first_sends = [m for n, m in timed_gateway if n in NUMBERS[:20]]
    second_sends = [m for n, m in timed_gateway if n in NUMBERS[20:30]]
    assert len(first_sends) == 10 and len(second_sends) == 10
    assert min(second_sends) - started < 10 / RATE + 0.05  # after the ten sent, not the twenty reserved
    assert most_in_one_second([m for _, m in timed_gateway]) <= RATE


def test_a_span_that_cannot_be_given_back_fails_no_record(
    api, tenants, gateway, at_time, captured, virtual_time, timed_gateway, monkeypatch
):
    acme, _ = tenants
    at_rate(acme, RATE)
    deployment_id, chunks = chunks_of(api, acme, NUMBERS[:20], captured)
    for number in NUMBERS[10:20]:
        create_optout(acme.id, number)

    def unreachable(*args, **kwargs):
        raise ConnectionError("DynamoDB is unreachable")

    monkeypatch.setattr(counters, "give_back_span", unreachable)
    assert run_send_worker(chunks) == {"batchItemFailures": []}
    assert collections.Counter(r.status for r in Recipient.query(deployment_id)) == {
        Delivery.SENT: 10,
        Delivery.OPTED_OUT: 10,
    }
