"""The send queue: fan-out steps, deployment chunks and API messages, ten records an invocation."""

from __future__ import annotations

from typing import Any

from chalice.app import SQSEvent

from chalicelib import queue_messages
from chalicelib.domain.deployments import fanout, given_up, settlement
from chalicelib.domain.sending import api_messages, sender
from chalicelib.log import logger
from chalicelib.providers.simulator import EMAIL_EVENTS, SMS_EVENTS
from chalicelib.workers import email_events, sms_events
from chalicelib.workers.sqs import process


def handle(event: SQSEvent) -> dict:
    time_left = event.context.get_remaining_time_in_millis
    worker = sender.Sender(time_left_ms=time_left)

    def run(message: Any) -> None:
        if time_left() < sender.RESERVE_MS:
            queue_messages.enqueue(message)  # too little time left: a fresh invocation takes it
            return
        try:
            if isinstance(message, queue_messages.FanOut):
                fanout.fan_out(message)
                worker.touched.add((message.company, message.deployment))  # its last step may finish it
            elif isinstance(message, queue_messages.SendChunk):
                worker.send_chunk(message)
            elif isinstance(message, queue_messages.SimulatedEvent):
                feed(message)
            else:
                worker.send_messages(message)
        except Exception:
            worker.flush()  # statuses of what was already sent must not be lost with the record
            raise
        finally:
            worker.release_pace()  # what it reserved for recipients it skipped or left goes back

    result = process(event, "send", run, _give_up)
    worker.flush()
    settlement.finish_touched(worker.touched)
    return result


def feed(event: queue_messages.SimulatedEvent) -> dict[str, Any]:
    """A simulated gateway event, through the handler of the topic the real gateway's events take."""
    if event.source == SMS_EVENTS:
        return sms_events.handle_event(event.message)
    if event.source == EMAIL_EVENTS:
        return email_events.handle(event.message)
    return sms_events.handle_simulated_reply(event.company, event.message)


def _give_up(message: Any, reason: str) -> None:
    """A record that failed on its last attempt ends in a terminal state: its API messages fail (their
    credits go back), a chunk's unclaimed recipients fail, a fan-out step lets the deployment finish."""
    if isinstance(message, queue_messages.SendMessages):
        api_messages.fail_messages(message.company, message.ids, f"not sent: {reason}")
    elif isinstance(message, queue_messages.SendChunk):
        given_up.give_up_chunk(message, reason)
    elif isinstance(message, queue_messages.SimulatedEvent):
        logger.error("simulated event given up", company=message.company, reason=reason)
    else:
        fanout.give_up_fan_out(message, reason)
