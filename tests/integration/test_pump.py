"""The event pump feeds handlers the way Lambda would: batches, partial failures, redrive, schedules."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from chalice import Chalice

from chalicelib import aws as aws_module
from chalicelib.local.pump import EventPump
from chalicelib.settings import get_settings


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.failing: set[str] = set()
        self.raise_error = False
        self.contexts: list = []
        self.scheduled: list[dict] = []


def make_app(recorder: Recorder, batch_size: int = 10) -> Chalice:
    app = Chalice(app_name="pump-test")

    @app.on_sqs_message(queue=get_settings().queue("imports"), batch_size=batch_size, name="worker")
    def worker(event):
        records = list(event)
        recorder.batches.append([r.body for r in records])
        recorder.contexts.append(event.context)
        if recorder.raise_error:
            raise RuntimeError("boom")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r.to_dict()["messageId"]} for r in records if r.body in recorder.failing
            ]
        }

    @app.schedule("rate(5 minutes)", name="tick")
    def tick(event):
        recorder.scheduled.append(event.to_dict())

    return app


def send(*bodies: str) -> None:
    sqs = aws_module.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue("imports"))["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def count(queue: str) -> int:
    sqs = aws_module.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture(autouse=True)
def empty_queue(aws):
    """Wiring the bucket notification sends an s3:TestEvent; these tests want the queue to themselves."""
    sqs = aws_module.client("sqs")
    sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=get_settings().queue("imports"))["QueueUrl"])


@pytest.fixture
def pump(aws, recorder):
    pump = EventPump(make_app(recorder), retry_delay_seconds=0, wait_seconds=0)
    pump.connect()
    return pump


def test_a_batch_is_delivered_once_and_deleted(pump, recorder):
    send("a", "b", "c")
    delivery = pump.deliver(pump.queues[0])
    assert (delivery.received, delivery.deleted, delivery.failed) == (3, 3, 0)
    assert sorted(recorder.batches[0]) == ["a", "b", "c"]
    assert pump.deliver(pump.queues[0]).received == 0
    assert count(get_settings().queue("imports")) == 0


def test_batches_respect_the_handler_batch_size(aws, recorder):
    pump = EventPump(make_app(recorder, batch_size=4), retry_delay_seconds=0, wait_seconds=0)
    pump.connect()
    send(*[str(n) for n in range(10)])
    sizes = []
    while (delivery := pump.deliver(pump.queues[0])).received:
        sizes.append(delivery.received)
    assert sizes == [4, 4, 2]
    assert sorted(b for batch in recorder.batches for b in batch) == sorted(str(n) for n in range(10))


def test_reported_failures_come_back_and_the_rest_do_not(pump, recorder):
    send("ok", "bad")
    recorder.failing = {"bad"}
    assert pump.deliver(pump.queues[0]).failed == 1
    recorder.failing = set()
    assert recorder.batches[-1] != ["bad"]
    again = pump.deliver(pump.queues[0])
    assert again.received == 1
    assert recorder.batches[-1] == ["bad"]


def test_a_handler_that_raises_gets_the_whole_batch_again(pump, recorder):
    send("x", "y")
    recorder.raise_error = True
    assert pump.deliver(pump.queues[0]).failed == 2
    recorder.raise_error = False
    assert pump.deliver(pump.queues[0]).received == 2


def test_a_poison_message_reaches_the_dead_letter_queue_after_the_receive_count(pump, recorder):
    send("poison")
    recorder.raise_error = True
    attempts = 0
    while pump.deliver(pump.queues[0]).received:
        attempts += 1
        assert attempts < 20
    assert attempts == 5
    assert count(get_settings().dead_letter_queue("imports")) == 1
    assert count(get_settings().queue("imports")) == 0


def test_handlers_get_a_lambda_context_and_sqs_records(pump, recorder):
    send(json.dumps({"hello": 1}))
    pump.deliver(pump.queues[0])
    context = recorder.contexts[0]
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
    assert context.function_name == "worker"


def test_schedules_fire_on_their_rate(pump, recorder):
    (tick,) = pump.schedules
    start = datetime.now(UTC)
    assert pump.fire_due(start) == []
    assert pump.fire_due(tick.next_run) == ["tick"]
    assert recorder.scheduled[0]["detail-type"] == "Scheduled Event"
    assert pump.fire_due(tick.next_run - timedelta(seconds=1)) == []
    assert tick.next_run > start + timedelta(minutes=9)
