"""One worker's pacer: sends inside the spans it reserved of its sender's timeline, one interval apart."""

import pytest

from chalicelib.domain.sending import pacing


@pytest.fixture
def virtual(monkeypatch):
    """A virtual monotonic clock that sleeping moves on; `slept` records the sleeps."""
    state = {"now": 100.0, "slept": []}
    monkeypatch.setattr(pacing.time, "monotonic", lambda: state["now"])

    def sleep(seconds):
        state["slept"].append(seconds)
        state["now"] += seconds

    monkeypatch.setattr(pacing.time, "sleep", sleep)
    return state


class Timeline:
    """Reservations the pacer made: the span each asked for; the next span starts `wait` seconds on."""

    def __init__(self, wait=0.0):
        self.spans, self.wait = [], wait

    def __call__(self, span_ms):
        self.spans.append(span_ms)
        return self.wait


def test_a_worker_alone_goes_at_its_senders_whole_rate_in_one_reservation(virtual):
    timeline = Timeline()
    pacer = pacing.Pacer(per_second=20, reserve=timeline)
    for left in range(21, 0, -1):
        pacer.wait(upcoming=left)
    assert abs(virtual["now"] - 101.0) < 1e-9  # 21 sends at 20 a second span one second
    assert timeline.spans == [1050]  # one write: 21 sends of 50 ms
    assert all(abs(s - 0.05) < 1e-9 for s in virtual["slept"])


def test_a_span_reserved_behind_another_workers_waits_for_it(virtual):
    pacer = pacing.Pacer(per_second=10, reserve=Timeline(wait=1.5))
    pacer.wait(upcoming=3)
    assert virtual["slept"] == [1.5]
    pacer.wait(upcoming=2)
    assert abs(virtual["now"] - 101.6) < 1e-9


def test_sends_beyond_the_reservation_reserve_again(virtual):
    timeline = Timeline()
    pacer = pacing.Pacer(per_second=10, reserve=timeline)
    pacer.wait(upcoming=2)
    pacer.wait(upcoming=1)
    pacer.wait(upcoming=1)  # a retry the reservation did not count
    assert timeline.spans == [200, 100]


def test_a_worker_that_stopped_for_longer_than_late_seconds_reserves_again_for_the_rest(virtual):
    timeline = Timeline()
    pacer = pacing.Pacer(per_second=10, reserve=timeline)
    pacer.wait(upcoming=50)  # the span [100, 105)
    virtual["now"] += pacing.LATE_SECONDS + 0.2  # a gateway backing off
    pacer.wait(upcoming=49)
    assert timeline.spans == [5000, 4900]


def test_a_worker_merely_slower_than_the_rate_sends_its_span_without_reserving_again(virtual):
    timeline = Timeline()
    pacer = pacing.Pacer(per_second=10, reserve=timeline)
    for left in range(50, 0, -1):
        pacer.wait(upcoming=left)
        virtual["now"] += 0.15  # each SMS takes the gateway 150 ms: 50 sends take 7.5 s of a 5 s span
    assert timeline.spans == [5000]


def test_a_span_the_worker_cannot_live_to_is_given_back(virtual):
    given_back = []
    pacer = pacing.Pacer(per_second=10, reserve=Timeline(wait=30.0), give_back=lambda: given_back.append(1))
    with pytest.raises(pacing.Booked):
        pacer.wait(upcoming=5, within=10.0)
    assert given_back == [1] and virtual["slept"] == []


def test_an_idle_pacer_does_not_save_up_a_burst(virtual):
    pacer = pacing.Pacer(per_second=10, reserve=Timeline())
    pacer.wait(upcoming=1)
    virtual["now"] = 160.0
    pacer.wait(upcoming=2)
    pacer.wait(upcoming=1)
    assert abs(virtual["now"] - 160.1) < 1e-9


def test_what_is_still_to_come_counts_each_senders_own_sends():
    assert pacing.still_to_come(["a", "b", "a", "a", "b"]) == [3, 2, 2, 1, 1]
    assert pacing.still_to_come([]) == []
