"""The tasks queue: every kind of background work (see `chalicelib.domain.tasks`)."""

from __future__ import annotations

from typing import Any

from chalice.app import SQSEvent

from chalicelib import messages
from chalicelib.domain import (
    approvals,
    contact_lists,
    deployments,
    leases,
    list_building,
    optouts,
    reports,
    tasks,
)
from chalicelib.workers.sqs import process

TASK_KINDS_FROM = (
    approvals,
    contact_lists,
    deployments,
    list_building,
    optouts,
    reports,
)  # importing them registers their task kinds


BUSY_DELAY_SECONDS = 900  # SQS's longest delay: a busy task is looked at again in 15 minutes


def handle(event: SQSEvent) -> dict:
    return process(event, "tasks", _run, _give_up)


def _run(message: messages.RunTask) -> None:
    """A task another delivery is running (or whose list another task fills) comes back later, without
    counting towards giving up: the other run will have finished it, or its lease will have expired."""
    try:
        tasks.run(message.company, message.task_id)
    except tasks.TaskBusy:
        messages.enqueue(message, delay_seconds=BUSY_DELAY_SECONDS)


def _give_up(message: Any, reason: str) -> None:
    tasks.fail(message.company, message.task_id, f"The task could not be finished ({reason}).")


def refresh_nightly(event: Any) -> dict:
    """Every night (00:00 UTC, 02:00 in South Africa): a refresh task for each company's saved-query lists."""
    with leases.held("nightly-refresh", seconds=3600) as mine:
        return {"companies": list_building.refresh_every_saved_list()} if mine else {"skipped": 1}
