"""The callbacks queue: each message is one event for a company's endpoint. A failed POST comes back
after an exponential back-off (from its receive count: 30 s doubling, at most 4 h, so the 15 attempts
span about a day); after the last one the record says `failed` and the queue moves it to its DLQ."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalice.app import SQSEvent

from chalicelib import queue_messages
from chalicelib.domain.callbacks import delivery, erased_people
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
    """A batch's records are read and recorded here, and their POSTs made side by side, so one company's
    slow endpoint holds up no other's (each POST has its own deadline)."""
    records = [record.to_dict() for record in event]
    ready = _prepared(records)
    posting = {m: r for m, r in ready.items() if isinstance(r, delivery.Ready)}
    with ThreadPoolExecutor(max_workers=max(1, len(posting))) as pool:
        answers = dict(
            zip(
                posting,
                pool.map(lambda r: delivery.post(r.url, r.attempt.payload, r.secrets), posting.values()),
                strict=True,
            )
        )
    failures = []
    for raw in records:
        message_id, attempt = raw["messageId"], _receive_count(raw)
        with log_context(queue=QUEUE, message_id=message_id, attempt=attempt):
            done = ready[message_id]
            if message_id in answers:
                done = _concluded(posting[message_id], answers[message_id], attempt)
            if not done:
                failures.append({"itemIdentifier": message_id})
                if attempt < MAX_RECEIVES:
                    retry_later(QUEUE, raw["receiptHandle"], back_off(attempt))
    return {"batchItemFailures": failures}


def _receive_count(raw: dict[str, Any]) -> int:
    return int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))


def _prepared(records: list[dict[str, Any]]) -> dict[str, delivery.Ready | bool]:
    """Each record's event ready to POST (redacted when its person was erased since it was queued: one
    lookup for the batch), or whether nothing is left to do (True) or it must come back (False)."""
    parsed = {r["messageId"]: _parse(r) for r in records}
    events = {m: p for m, p in parsed.items() if not isinstance(p, bool)}
    try:
        redacted = dict(zip(events, erased_people.without_erased(list(events.values())), strict=True))
    except Exception:
        logger.exception("callbacks failed: the erased people could not be looked up")
        return {m: p if isinstance(p, bool) else False for m, p in parsed.items()}
    return {
        r["messageId"]: _prepare(r, redacted[r["messageId"]]) if r["messageId"] in redacted else True
        for r in records
    }


def _parse(raw: dict[str, Any]) -> queue_messages.CallbackEvent | bool:
    """The record's event, or True when it is poison (sent to the dead-letter queue)."""
    try:
        (message,) = queue_messages.parse(raw["body"], QUEUE)
    except (queue_messages.InvalidMessage, ValueError) as error:
        with log_context(queue=QUEUE, message_id=raw["messageId"], attempt=_receive_count(raw)):
            logger.error("poison message sent to the dead-letter queue", reason=str(error))
        dead_letter(QUEUE, raw["body"])
        return True
    return message


def _prepare(raw: dict[str, Any], message: queue_messages.CallbackEvent) -> delivery.Ready | bool:
    """The record's event ready to POST, True when nothing is left to do, False to bring it back."""
    with log_context(queue=QUEUE, message_id=raw["messageId"], attempt=_receive_count(raw)):
        try:
            return delivery.prepare(message, raw["messageId"])
        except Exception:
            logger.exception("callback failed")
            return False


def _concluded(ready: delivery.Ready, answer: tuple[int | None, str | None], attempt: int) -> bool:
    try:
        return delivery.conclude(ready, *answer, attempt, MAX_RECEIVES)
    except Exception:
        logger.exception("callback failed")
        return False
