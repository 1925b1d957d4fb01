"""What every SQS worker does with a batch: typed messages, partial failures, poison and last attempts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import SQSEvent

from chalicelib import aws, queue_messages
from chalicelib.log import log_context, logger
from chalicelib.settings import get_settings

MAX_RECEIVES = 5  # the queues' maxReceiveCount in infra/ (a test holds the two together)
RETRY_BASE_SECONDS = 30
SOON_SECONDS = 2


def process(
    event: SQSEvent,
    queue: str,
    handle: Callable[[Any], None],
    give_up: Callable[[Any, str], None],
) -> dict[str, list[dict[str, str]]]:
    """Handle each record's messages; return the records to retry as `batchItemFailures`.

    A body that is no message of this queue goes straight to the dead-letter queue (retrying cannot
    help); a failure on the last attempt calls `give_up` so the work ends in a terminal state.
    """
    failures = []
    for record in event:
        raw = record.to_dict()
        attempt = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        with log_context(queue=queue, message_id=raw["messageId"], attempt=attempt):
            try:
                parsed = queue_messages.parse(record.body, queue)
            except queue_messages.InvalidMessage as error:
                logger.error("poison message sent to the dead-letter queue", reason=str(error))
                dead_letter(queue, record.body)
                continue
            for message in parsed:
                try:
                    handle(message)
                except Exception as error:
                    logger.exception("message failed", attempt=attempt)
                    if attempt >= MAX_RECEIVES and _gave_up(give_up, message, attempt, error):
                        continue
                    failures.append({"itemIdentifier": raw["messageId"]})
                    retry_later(queue, raw["receiptHandle"], _retry_seconds(error, attempt))
                    break
    return {"batchItemFailures": failures}


def _retry_seconds(error: Exception, attempt: int) -> int:
    """30 s more each attempt; an error that says it will pass `soon` is first retried in 2 s."""
    if attempt == 1 and getattr(error, "soon", False):
        return SOON_SECONDS
    return RETRY_BASE_SECONDS * attempt


def _gave_up(give_up: Callable[[Any, str], None], message: Any, attempt: int, error: Exception) -> bool:
    """Run the give-up; if it fails too, the record is reported like any failure (the redrive takes it
    to the dead-letter queue) and the batch's other records are not run again."""
    try:
        give_up(message, f"stopped after {attempt} attempts: {type(error).__name__}")
    except Exception:
        logger.exception("giving up failed too", attempt=attempt)
        return False
    return True


def dead_letter(queue: str, body: str) -> None:
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().dead_letter_queue(queue))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=body)


def retry_later(queue: str, receipt_handle: str, seconds: int) -> None:
    """Bring a failed message back sooner than the queue's long visibility timeout would."""
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue(queue))["QueueUrl"]
    try:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)
    except Exception:
        logger.exception("could not shorten the retry delay")
