"""The tasks queue: every kind of background work (see `chalicelib.domain.tasks`)."""

from __future__ import annotations

from typing import Any

from chalice.app import SQSEvent

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


def handle(event: SQSEvent) -> dict:
    return process(event, "tasks", lambda m: tasks.run(m.company, m.task_id), _give_up)


def _give_up(message: Any, reason: str) -> None:
    tasks.fail(message.company, message.task_id, f"The task could not be finished ({reason}).")


def refresh_nightly(event: Any) -> dict:
    """Every night (00:00 UTC, 02:00 in South Africa): a refresh task for each company's saved-query lists."""
    with leases.held("nightly-refresh", seconds=3600) as mine:
        return {"companies": list_building.refresh_every_saved_list()} if mine else {"skipped": 1}
