"""Every kind of background task and the function that does it: the one table the tasks worker runs.

Each function takes its task, must be safe to run twice, and returns the task's result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain.contacts import contact_lists, membership, optouts
from chalicelib.domain.deployments import approvals, quotes
from chalicelib.domain.files import reports
from chalicelib.domain.privacy import erasures
from chalicelib.models.tasks import Task

TASK_KINDS: dict[str, Callable[[Task], dict[str, Any]]] = {
    "approve_deployment": approvals.approve_task,
    "quote_deployment": quotes.quote_task,
    "delete_contacts": contact_lists.delete_contacts_task,
    "save_contacts": membership.save_contacts_task,
    "refresh_lists": membership.refresh_task,
    "export_optouts": optouts.write_optouts_export,
    "export_contacts": reports.write_contacts_export,
    "deployment_report": reports.write_report,
    erasures.TASK_KIND: erasures.erase_task,
}
# what a kind's failure leaves behind it, said where its users look
ON_FAILURE: dict[str, Callable[[Task], None]] = {
    "quote_deployment": quotes.quote_failed,
    erasures.TASK_KIND: erasures.erasure_failed,
}
