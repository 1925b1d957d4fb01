"""Calling the send worker directly with Lambda-shaped SQS events, and capturing what it queues."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

from chalice.app import SQSEvent

from chalicelib import queue_messages
from chalicelib.workers import send as send_worker


class LambdaContext:
    def __init__(self, remaining_ms=lambda: 900_000) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = "send_worker"
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = "arn:aws:lambda:af-south-1:123456789012:function:send_worker"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms()


def run_send_worker(batch: list[Any], attempt: int = 1, context: LambdaContext | None = None) -> dict:
    """One invocation of the send worker on `batch` (each record a distinct SQS message)."""
    records = [
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "handle",
            "body": json.dumps({"type": m.type, **dataclasses.asdict(m)}),
            "attributes": {"ApproximateReceiveCount": str(attempt)},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:af-south-1:123456789012:colony-test-send",
            "awsRegion": "af-south-1",
        }
        for m in batch
    ]
    return send_worker.handle(SQSEvent({"Records": records}, context or LambdaContext()))


class OffShape(BaseException):
    """A producer queued what its consumer cannot read; BaseException, so a worker's `except Exception`
    cannot turn it into a retried record."""


class Captured:
    """What the code under test queued, instead of queueing it: take() it and deliver it by hand."""

    def __init__(self, monkeypatch) -> None:
        self.queued: list[Any] = []
        monkeypatch.setattr(queue_messages, "enqueue_many", self._enqueue_many)
        monkeypatch.setattr("chalicelib.workers.sqs.retry_later", lambda *args: None)

    def _enqueue_many(self, batch: list[Any], delay_seconds: int = 0) -> None:
        """Hold the batch, once each message has come back unchanged through its consumer's parser."""
        for message in batch:
            body = json.dumps({"type": message.type, **dataclasses.asdict(message)})
            try:
                parsed = queue_messages.parse(body, message.queue)
            except queue_messages.InvalidMessage as error:
                raise OffShape(f"{message!r}: {error}") from None
            if parsed != [message]:
                raise OffShape(f"{message!r} came back as {parsed!r}")
        self.queued.extend(batch)

    def take(self, kind: type) -> list[Any]:
        taken = [m for m in self.queued if isinstance(m, kind)]
        self.queued = [m for m in self.queued if not isinstance(m, kind)]
        return taken


def chunks_of(
    api: Any, tenant: Any, numbers: list[str], captured: Captured, **fields: Any
) -> tuple[int, list]:
    """Approve a deployment to `numbers` and run its fan-out: its id and the chunks it queued."""
    from chalicelib import queue_messages
    from tests.factories import approved_deployment

    deployment_id = approved_deployment(api, tenant, numbers, **fields)
    run_send_worker(captured.take(queue_messages.FanOut))
    return deployment_id, captured.take(queue_messages.SendChunk)
