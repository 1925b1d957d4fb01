"""The company's tasks as a list: newest first, by kind or status."""

from __future__ import annotations

import functools
import operator

from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.background.kinds import TASK_KINDS
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.rules.lifecycle import job_status
from chalicelib.models.pagination import Page, PageRequest, paginate, paginate_filtered
from chalicelib.models.tasks import Task


def list_tasks(caller: Caller, page: PageRequest, kind: str | None = None, status: str | None = None) -> Page:
    """The company's tasks, newest first, of one kind or one status when asked."""
    conditions = []
    if kind is not None:
        if kind not in TASK_KINDS:
            raise invalid_field("kind", f"must be one of {', '.join(sorted(TASK_KINDS))}")
        conditions.append(Task.kind == kind)
    if status is not None:
        conditions.append(Task.status == job_status(status))
    if not conditions:
        return paginate(Task, caller.company, page, scan_index_forward=False)
    condition = functools.reduce(operator.and_, conditions)
    return paginate_filtered(Task, caller.company, page, condition, scan_index_forward=False)
