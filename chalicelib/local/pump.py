"""The event pump: feeds the SQS, SNS and schedule handlers that `app.py` registered, the way Lambda would.

It reads `app.event_sources` and `app.handler_map`, so no handler is wired twice. For SQS it
receives up to the handler's batch size (within its batching window), invokes it with a Lambda-shaped
event and context, deletes what succeeded and leaves the rest (all of them if the handler raised, the
`batchItemFailures` if it reported some) to come back after the visibility timeout; the queue's own
redrive policy moves a message to its DLQ after the configured receive count. An SNS topic reaches its
handler through a queue the pump subscribes to it, one message an invocation, tried three times (Lambda's
asynchronous retries) before it is dropped. Schedules fire on their rate or cron.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig, SNSEventConfig, SQSEventConfig

from chalicelib import aws
from chalicelib.local.schedules import Schedule, parse
from chalicelib.log import logger
from chalicelib.settings import PROJECT_DIR, get_settings

ACCOUNT_ID = "123456789012"
_RECEIVE_MAX = 10
SNS_ATTEMPTS = 3  # Lambda runs an asynchronous (SNS) invocation at most three times


class LambdaContext:
    """The parts of the Lambda context object that handlers use."""

    def __init__(self, function_name: str, timeout_seconds: int) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = (
            f"arn:aws:lambda:{get_settings().region}:{ACCOUNT_ID}:function:{function_name}"
        )
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class QueueSource:
    name: str
    queue: str
    batch_size: int
    window_seconds: int
    handler: Callable[[dict, Any], Any]
    timeout_seconds: int
    url: str = ""
    arn: str = ""


@dataclass
class TopicSource:
    name: str
    topic: str
    handler: Callable[[dict, Any], Any]
    timeout_seconds: int
    topic_arn: str = ""
    url: str = ""


@dataclass
class ScheduleSource:
    name: str
    schedule: Schedule
    handler: Callable[[dict, Any], Any]
    timeout_seconds: int
    next_run: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Delivery:
    """What one invocation did with one batch."""

    received: int
    deleted: int
    failed: int


def function_timeouts(stage: str = "local") -> tuple[int, dict[str, int]]:
    """The default and per-function Lambda timeouts `.chalice/config.json` gives a stage."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    stage_config = config["stages"].get(stage, {})
    default = stage_config.get("lambda_timeout", config.get("lambda_timeout", 60))
    per_function = {
        name: settings.get("lambda_timeout", default)
        for name, settings in {
            **config.get("lambda_functions", {}),
            **stage_config.get("lambda_functions", {}),
        }.items()
    }
    return default, per_function


class EventPump:
    def __init__(
        self, app: Chalice, *, retry_delay_seconds: int | None = None, wait_seconds: int = 1
    ) -> None:
        """`retry_delay_seconds` shortens the wait before a failed message returns (None: the queue's own)."""
        default_timeout, timeouts = function_timeouts()
        self.retry_delay_seconds = retry_delay_seconds
        self.wait_seconds = wait_seconds
        self.queues: list[QueueSource] = []
        self.schedules: list[ScheduleSource] = []
        self.topics: list[TopicSource] = []
        for source in app.event_sources:
            handler = app.handler_map[source.name]
            timeout = timeouts.get(source.name, default_timeout)
            if isinstance(source, SQSEventConfig):
                assert source.queue, f"{source.name}: the pump needs a queue name, not only an ARN"
                self.queues.append(
                    QueueSource(
                        source.name,
                        source.queue,
                        source.batch_size,
                        source.maximum_batching_window_in_seconds,
                        handler,
                        timeout,
                    )
                )
            elif isinstance(source, SNSEventConfig):
                self.topics.append(TopicSource(source.name, source.topic, handler, timeout))
            elif isinstance(source, ScheduledEventConfig):
                expression = source.schedule_expression
                text = expression if isinstance(expression, str) else expression.to_string()
                schedule = parse(text)
                self.schedules.append(
                    ScheduleSource(
                        source.name, schedule, handler, timeout, schedule.next_after(datetime.now(UTC))
                    )
                )
            else:
                raise AssertionError(f"the pump cannot feed {type(source).__name__} ({source.name})")

    def connect(self) -> None:
        """Look up the queues; they must exist (provisioned from infra/) before the pump starts."""
        sqs = aws.client("sqs")
        for source in self.queues:
            source.url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
            source.arn = sqs.get_queue_attributes(QueueUrl=source.url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        for topic in self.topics:
            self._subscribe(topic)

    def _subscribe(self, source: TopicSource) -> None:
        """A queue of the pump's own, subscribed to the topic (as Lambda's subscription would be)."""
        sqs, sns = aws.client("sqs"), aws.client("sns")
        source.topic_arn = f"arn:aws:sns:{get_settings().region}:{ACCOUNT_ID}:{source.topic}"
        sns.get_topic_attributes(TopicArn=source.topic_arn)
        source.url = sqs.create_queue(QueueName=f"{source.topic}-pump")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=source.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=source.topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def deliver_notification(self, source: TopicSource) -> Delivery:
        """One SNS notification to its handler, if one is waiting."""
        sqs = aws.client("sqs")
        received = sqs.receive_message(
            QueueUrl=source.url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return Delivery(0, 0, 0)
        message = received[0]
        envelope = json.loads(message["Body"])
        event = {"Records": [self._notification(source, envelope)]}
        failed = self._invoke(source.name, source.handler, event, source.timeout_seconds, [message])
        attempts = int(message["Attributes"].get("ApproximateReceiveCount", "1"))
        if failed and attempts < SNS_ATTEMPTS:
            if self.retry_delay_seconds is not None:
                sqs.change_message_visibility(
                    QueueUrl=source.url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self.retry_delay_seconds,
                )
            return Delivery(1, 0, 1)
        if failed:
            logger.error("SNS notification dropped after its retries", function=source.name)
        sqs.delete_message(QueueUrl=source.url, ReceiptHandle=message["ReceiptHandle"])
        return Delivery(1, 1, 1 if failed else 0)

    def deliver(self, source: QueueSource) -> Delivery:
        """One Lambda invocation's worth of messages from `source`, if any are waiting."""
        messages = self._receive(source)
        if not messages:
            return Delivery(0, 0, 0)
        event = {"Records": [self._record(source, m) for m in messages]}
        failed_ids = self._invoke(source.name, source.handler, event, source.timeout_seconds, messages)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        sqs = aws.client("sqs")
        for start in range(0, len(done), _RECEIVE_MAX):
            chunk = done[start : start + _RECEIVE_MAX]
            sqs.delete_message_batch(
                QueueUrl=source.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if self.retry_delay_seconds is not None:
            for message in messages:
                if message["MessageId"] in failed_ids:
                    sqs.change_message_visibility(
                        QueueUrl=source.url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=self.retry_delay_seconds,
                    )
        return Delivery(len(messages), len(done), len(failed_ids))

    def fire_due(self, now: datetime | None = None) -> list[str]:
        """Run every schedule whose time has come; returns the names that ran."""
        now = now or datetime.now(UTC)
        fired = []
        for source in self.schedules:
            if source.next_run <= now:
                event = self._scheduled_event(source, now)
                self._invoke(source.name, source.handler, event, source.timeout_seconds, [])
                source.next_run = source.schedule.next_after(max(now, source.next_run))
                fired.append(source.name)
        return fired

    def run(self, stop: threading.Event) -> None:
        """Poll every queue in its own thread and fire schedules until `stop` is set."""
        threads = [
            threading.Thread(target=self._poll_forever, args=(s, stop), name=f"pump-{s.name}", daemon=True)
            for s in [*self.queues, *self.topics]
        ]
        for thread in threads:
            thread.start()
        while not stop.wait(1):
            self.fire_due()
        for thread in threads:
            thread.join(timeout=self.wait_seconds + 5)

    def _poll_forever(self, source: QueueSource | TopicSource, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if isinstance(source, TopicSource):
                    self.deliver_notification(source)
                else:
                    self.deliver(source)
            except Exception:
                logger.exception("pump could not poll", source=source.name)
                stop.wait(1)

    def _receive(self, source: QueueSource) -> list[dict[str, Any]]:
        sqs = aws.client("sqs")
        deadline = time.monotonic() + source.window_seconds
        messages: list[dict[str, Any]] = []
        while len(messages) < source.batch_size:
            wanted = min(_RECEIVE_MAX, source.batch_size - len(messages))
            wait = self.wait_seconds if not messages else 0
            received = sqs.receive_message(
                QueueUrl=source.url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(received)
            if not received and (not messages or time.monotonic() >= deadline):
                break
        return messages

    def _record(self, source: QueueSource, message: dict[str, Any]) -> dict[str, Any]:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": source.arn,
            "awsRegion": get_settings().region,
        }

    def _notification(self, source: TopicSource, envelope: dict[str, Any]) -> dict[str, Any]:
        return {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": f"{source.topic_arn}:{uuid.uuid4()}",
            "Sns": {
                "Type": "Notification",
                "MessageId": envelope.get("MessageId", str(uuid.uuid4())),
                "TopicArn": source.topic_arn,
                "Subject": envelope.get("Subject"),
                "Message": envelope["Message"],
                "Timestamp": envelope.get("Timestamp", datetime.now(UTC).isoformat()),
                "MessageAttributes": envelope.get("MessageAttributes", {}),
            },
        }

    def _scheduled_event(self, source: ScheduleSource, now: datetime) -> dict[str, Any]:
        region = get_settings().region
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{source.name}"],
            "detail": {},
        }

    def _invoke(
        self,
        name: str,
        handler: Callable[[dict, Any], Any],
        event: dict[str, Any],
        timeout: int,
        messages: list[dict[str, Any]],
    ) -> set[str]:
        """Call the handler; returns the ids of the messages to leave on the queue."""
        try:
            result = handler(event, LambdaContext(name, timeout))
        except Exception:
            logger.exception("handler failed; its batch will be retried", function=name)
            return {m["MessageId"] for m in messages}
        failures = result.get("batchItemFailures", []) if isinstance(result, dict) else []
        failed = {f.get("itemIdentifier") for f in failures}
        batch = {m["MessageId"] for m in messages}
        # Lambda treats a failure naming no message of the batch as a failure of the whole batch.
        return batch if failed - batch else failed
