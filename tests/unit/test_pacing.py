from chalicelib.domain.sending import pacing, sender


def test_a_worker_keeps_to_its_share_of_the_senders_rate(monkeypatch):
    clock = {"now": 100.0}
    slept = []
    monkeypatch.setattr(sender.time, "monotonic", lambda: clock["now"])

    def sleep(seconds):
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(sender.time, "sleep", sleep)
    pacer = pacing.Pacer(per_second=20 / 4)
    for _ in range(11):
        pacer.wait()
    assert abs(clock["now"] - 102.0) < 1e-9  # eleven sends at five a second span two seconds
    assert all(abs(s - 0.2) < 1e-9 for s in slept)


def test_an_idle_pacer_does_not_save_up_a_burst(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(sender.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(sender.time, "sleep", lambda s: clock.__setitem__("now", clock["now"] + s))
    pacer = pacing.Pacer(per_second=10)
    pacer.wait()
    clock["now"] = 60.0
    pacer.wait()
    pacer.wait()
    assert abs(clock["now"] - 60.1) < 1e-9
