"""The tasks queue: every kind of background work (see `chalicelib.domain.tasks`)."""

from __future__ import annotations

from typing import Any

from chalice.app import SQSEvent

from chalicelib.domain import approvals, contact_lists, deployments, optouts, tasks
from chalicelib.workers.sqs import process

TASK_KINDS_FROM = (
    approvals,
    contact_lists,
    deployments,
    optouts,
)  # importing them registers their task kinds


def handle(event: SQSEvent) -> dict:
    return process(event, "tasks", lambda m: tasks.run(m.company, m.task_id), _give_up)


def _give_up(message: Any, reason: str) -> None:
    tasks.fail(message.company, message.task_id, f"The task could not be finished ({reason}).")
