"""The embedded AWS's gate: requests pass together; a snapshot waits for those in progress and holds new
ones back until it is done, so it never sees a request half-applied."""

import threading
import time

from chalicelib.local.gate import Gate, GatedApp


def test_a_snapshot_waits_for_the_request_in_progress_and_holds_the_next_one_back():
    gate, events = Gate(), []
    inside, release = threading.Event(), threading.Event()

    def slow_request():
        with gate.request():
            inside.set()
            release.wait(5)
            events.append("first request done")

    def snapshot():
        with gate.exclusive():
            events.append("snapshot")
            time.sleep(0.1)
            events.append("snapshot done")

    def next_request():
        with gate.request():
            events.append("next request")

    first = threading.Thread(target=slow_request)
    first.start()
    inside.wait(5)
    taking = threading.Thread(target=snapshot)
    taking.start()
    time.sleep(0.1)  # the snapshot is waiting now
    later = threading.Thread(target=next_request)
    later.start()
    time.sleep(0.1)
    assert events == []
    release.set()
    for thread in (first, taking, later):
        thread.join(5)
    assert events == ["first request done", "snapshot", "snapshot done", "next request"]


def test_requests_share_the_gate():
    gate, both_inside = Gate(), threading.Barrier(2, timeout=5)

    def request():
        with gate.request():
            both_inside.wait()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert not both_inside.broken


def test_only_requests_that_may_change_state_mark_it_changed():
    gated = GatedApp(lambda environ, start_response: [b"{}"], Gate())
    for environ in (
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key"},
        {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"},
        {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"},
    ):
        assert gated(environ, None) == [b"{}"]
    assert gated.changed is False
    gated({"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, None)
    assert gated.changed is True
