"""The tasks queue: every kind of background work (the table is `chalicelib.domain.background.kinds`)."""

from __future__ import annotations

from typing import Any

from chalice.app import SQSEvent

from chalicelib import queue_messages
from chalicelib.domain.background import leases, tasks
from chalicelib.domain.background.kinds import ON_FAILURE, TASK_KINDS
from chalicelib.domain.contacts import membership
from chalicelib.workers.sqs import process

BUSY_DELAY_SECONDS = 900  # SQS's longest delay: a busy task is looked at again in 15 minutes


def handle(event: SQSEvent) -> dict:
    return process(event, "tasks", _run, _give_up)


def _run(message: queue_messages.RunTask) -> None:
    """A task another delivery is running (or whose list another task fills) comes back later, without
    counting towards giving up: the other run will have finished it, or its lease will have expired."""
    try:
        tasks.run(message.company, message.task_id, TASK_KINDS, ON_FAILURE)
    except tasks.TaskBusy:
        queue_messages.enqueue(message, delay_seconds=BUSY_DELAY_SECONDS)


def _give_up(message: Any, reason: str) -> None:
    tasks.fail(message.company, message.task_id, f"The task could not be finished ({reason}).", ON_FAILURE)


def refresh_nightly(event: Any) -> dict:
    """Every night (00:00 UTC, 02:00 in South Africa): a refresh task for each company's saved-query lists."""
    with leases.held("nightly-refresh", seconds=3600) as mine:
        return {"companies": membership.refresh_every_saved_list()} if mine else {"skipped": 1}
