"""The callbacks queue: each message is one event for a company's endpoint. A failed POST comes back
after an exponential back-off (from its receive count: 30 s doubling, at most 4 h, so the 15 attempts
span about a day); after the last one the record says `failed` and the queue moves it to its DLQ."""

from __future__ import annotations

from typing import Any

from chalice.app import SQSEvent

from chalicelib import queue_messages
from chalicelib.domain.callbacks import delivery
from chalicelib.log import log_context, logger
from chalicelib.settings import get_settings
from chalicelib.workers.sqs import dead_letter, retry_later

QUEUE = "callbacks"
MAX_RECEIVES = 15  # the callbacks queue's maxReceiveCount in infra/ (a test holds the two together)
MAX_BACK_OFF_SECONDS = 4 * 3600


def back_off(receive_count: int) -> int:
    """Seconds before attempt `receive_count + 1`."""
    return min(MAX_BACK_OFF_SECONDS, get_settings().callback_retry_base_seconds * 2 ** (receive_count - 1))


def handle(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    failures = []
    for record in event:
        raw: dict[str, Any] = record.to_dict()
        attempt = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        with log_context(queue=QUEUE, message_id=raw["messageId"], attempt=attempt):
            try:
                (message,) = queue_messages.parse(record.body, QUEUE)
            except (queue_messages.InvalidMessage, ValueError) as error:
                logger.error("poison message sent to the dead-letter queue", reason=str(error))
                dead_letter(QUEUE, record.body)
                continue
            try:
                done = delivery.deliver(message, raw["messageId"], attempt, MAX_RECEIVES)
            except Exception:
                logger.exception("callback failed")
                done = False
            if not done:
                failures.append({"itemIdentifier": raw["messageId"]})
                if attempt < MAX_RECEIVES:
                    retry_later(QUEUE, raw["receiptHandle"], back_off(attempt))
    return {"batchItemFailures": failures}
