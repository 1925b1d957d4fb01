"""Running the app's queue workers in tests, exactly as `make run` does (through the event pump)."""

from __future__ import annotations

from chalicelib import aws
from chalicelib.local.pump import EventPump
from chalicelib.settings import get_settings


class TestPump:
    __test__ = False

    def __init__(self) -> None:
        from app import app

        self.pump = EventPump(app, retry_delay_seconds=0, wait_seconds=0)
        self.pump.connect()
        self.invocations: dict[str, int] = {}

    def drain(self, limit: int = 1000) -> int:
        """Deliver until every queue is empty; returns how many invocations ran."""
        ran = 0
        while ran < limit:
            delivered = 0
            for source in self.pump.queues:
                if self.pump.deliver(source).received:
                    delivered += 1
                    self.invocations[source.name] = self.invocations.get(source.name, 0) + 1
            for topic in self.pump.topics:
                if self.pump.deliver_notification(topic).received:
                    delivered += 1
                    self.invocations[topic.name] = self.invocations.get(topic.name, 0) + 1
            if not delivered:
                return ran
            ran += delivered
        raise AssertionError(f"queues still busy after {limit} invocations")

    def dead_letters(self, queue: str) -> list[str]:
        sqs = aws.client("sqs")
        url = sqs.get_queue_url(QueueName=get_settings().dead_letter_queue(queue))["QueueUrl"]
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [m["Body"] for m in received]
