"""A review's attacks on the sender's shared pace and on authenticating an API key in one read: each test
here failed on the code as it was reviewed."""

import pytest

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.models import counters
from chalicelib.models.companies import Company
from chalicelib.models.counters import Counter
from chalicelib.models.deployments import Recipient
from tests.sqs_events import LambdaContext, chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(40)]
RATE = 20
EXPIRES = 2_000_000_000


@pytest.fixture
def timed_gateway(gateway, virtual_time, monkeypatch):
    """The moments the gateway sent each SMS at; `slow[n]` seconds pass inside the n-th send's call."""
    sent_at, slow = [], {}
    real = gateway._send

    def send(sms):
        sent_at.append((sms.to, virtual_time["t"]))
        virtual_time["t"] += slow.get(len(sent_at), 0.0)
        return real(sms)

    monkeypatch.setattr(gateway, "_send", send)
    return sent_at, slow


def at_rate(tenant, rate):
    Company(id=tenant.id).update(actions=[Company.send_rate.set(rate)])


def most_in_one_second(moments):
    moments = sorted(moments)
    return max(sum(1 for m in moments if start <= m < start + 1 - 1e-9) for start in moments)


def timeline_end(tenant, sender=""):
    return int(Counter.get(f"pace#{tenant.id}#{sender}").value)


def test_a_worker_late_inside_its_span_does_not_send_into_the_next_workers(
    api, tenants, at_time, captured, virtual_time, timed_gateway
):
    """Worker 1 reserved a second for its twenty SMS, then one gateway call took 1.5 s; worker 2, on
    another machine, reserved the second after it. Worker 1 must not spill its last sends into it."""
    sent_at, slow = timed_gateway
    acme, _ = tenants
    at_rate(acme, RATE)
    _, first = chunks_of(api, acme, NUMBERS[:20], captured)
    _, second = chunks_of(api, acme, NUMBERS[20:40], captured)
    slow[5] = 1.5
    started = virtual_time["t"]
    run_send_worker(first)  # reserved [0, 1 s) before worker 2 reserved [1 s, 2 s)
    virtual_time["t"] = started
    run_send_worker(second)
    assert len(sent_at) == 40
    assert most_in_one_second([m for _, m in sent_at]) <= RATE


def test_a_chunk_handed_back_gives_its_unused_span_back_to_the_timeline(
    api, tenants, at_time, captured, virtual_time, timed_gateway, queue_delays
):
    """A chunk whose turn is 2,000 s off goes back on the queue (900 s at most) twice before its turn:
    each reservation it could not use must not push the sender's later sends back."""
    sent_at, _ = timed_gateway
    acme, _ = tenants
    at_rate(acme, RATE)
    deployment_id, chunks = chunks_of(api, acme, NUMBERS[:20], captured)
    booked_until = clock.epoch_ms() + 2_000_000
    counters.reserve_span(f"pace#{acme.id}#", 2_000_000, clock.epoch_ms(), EXPIRES, idle=True)
    for _ in range(2):
        began = virtual_time["t"]
        run_send_worker(
            chunks, context=LambdaContext(lambda b=began: int((900 - virtual_time["t"] + b) * 1000))
        )
        assert sent_at == [] and timeline_end(acme) == booked_until
        chunks = captured.take(queue_messages.SendChunk)
        assert queue_delays[-1] == 900
        virtual_time["t"] += 900
    run_send_worker(chunks)
    assert abs(sent_at[0][1] - 2_000) < 1e-6  # its turn came when the other worker's booking ended
    assert {r.status for r in Recipient.query(deployment_id)} == {Delivery.SENT}


def test_a_worker_that_stopped_alone_does_not_wait_out_its_own_span(
    api, tenants, at_time, captured, virtual_time, timed_gateway
):
    """One gateway call of 0.7 s in a one-chunk deployment: the worker gives the rest of its span back
    and starts again at once, rather than queue behind the 100 sends' span it reserved for itself."""
    sent_at, slow = timed_gateway
    acme, _ = tenants
    at_rate(acme, RATE)
    _, chunks = chunks_of(api, acme, NUMBERS[:25], captured)
    slow[3] = 0.7
    started = virtual_time["t"]
    run_send_worker(chunks)
    assert len(sent_at) == 25
    assert sent_at[-1][1] - started < 24 / RATE + 0.7 + 0.1  # not the 1.25 s span again
    assert most_in_one_second([m for _, m in sent_at]) <= RATE
