"""Background tasks: one queue and one worker for every kind; a redelivered task does nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import queue_messages
from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.background import leases
from chalicelib.domain.errors import ColonyError, NotFound
from chalicelib.domain.rules.lifecycle import Job
from chalicelib.log import logger
from chalicelib.models.counters import allocate_ids
from chalicelib.models.tasks import Task

LEASE_SECONDS = 960  # the tasks worker runs for at most 900 s


def start(caller: Caller, task_kind: str, params: dict[str, Any]) -> Task:
    now = clock.now()
    task = Task(
        company=caller.company,
        id=allocate_ids("task")[0],
        kind=task_kind,
        user=caller.user,
        status=Job.PENDING,
        params=params,
        date_created=now,
        date_updated=now,
    )
    task.save(condition=Task.id.does_not_exist())
    queue_messages.enqueue(queue_messages.RunTask(company=caller.company, task_id=task.id))
    return task


def get_task(caller: Caller, task_id: int) -> Task:
    task = Task.get_or_none(caller.company, task_id)
    if task is None:
        raise NotFound(f"There is no task {task_id}.")
    return task


class TaskBusy(Exception):
    """Another delivery of the same task is running it: try again later (it will have finished)."""


def run(
    company: int,
    task_id: int,
    kinds: dict[str, Callable[[Task], dict[str, Any]]],
    on_failure: dict[str, Callable[[Task], None]] | None = None,
) -> None:
    """Do a task once with the function `kinds` names for its kind: a finished task is left alone, a
    running one is not run beside itself, and a failure that retrying cannot mend (a ColonyError) is
    recorded at once with its reason."""
    with leases.held(f"task-{company}-{task_id}", seconds=LEASE_SECONDS) as mine:
        if not mine:
            raise TaskBusy(f"task {task_id} is running")
        task = Task.get_or_none(company, task_id, consistent_read=True)
        if task is None or task.status in (Job.COMPLETED, Job.FAILED):
            logger.info("task already done or gone", task=task_id, company=company)
            return
        task.update(
            actions=[Task.status.set(Job.RUNNING), Task.attempts.add(1), Task.date_updated.set(clock.now())]
        )
        try:
            result = kinds[task.kind](task)
        except ColonyError as error:
            fail(company, task_id, error.message, on_failure)
            return
        task.update(
            actions=[
                Task.status.set(Job.COMPLETED),
                Task.result.set(result),
                Task.progress.set(100),
                Task.error.remove(),
                Task.date_updated.set(clock.now()),
            ]
        )


def report_progress(task: Task, done: int, total: int) -> None:
    """Store how far a task has got (0-99 %; 100 is for finished) when it moved by a percent or more."""
    percent = min(99, done * 100 // total) if total else 0
    if percent > (task.progress or 0):
        task.update(actions=[Task.progress.set(percent), Task.date_updated.set(clock.now())])


def fail(
    company: int, task_id: int, reason: str, on_failure: dict[str, Callable[[Task], None]] | None = None
) -> None:
    """Record a task as failed with its reason, then let its kind say so where it matters (`on_failure`)."""
    task = Task.get_or_none(company, task_id)
    if task is not None and task.status not in (Job.COMPLETED, Job.FAILED):
        task.update(
            actions=[Task.status.set(Job.FAILED), Task.error.set(reason), Task.date_updated.set(clock.now())]
        )
        hook = (on_failure or {}).get(task.kind)
        if hook is not None:
            hook(task)
