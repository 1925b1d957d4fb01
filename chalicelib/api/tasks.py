from typing import Any

from chalice import Blueprint
from typing_extensions import TypedDict

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.api.operations import PAGED, Param
from chalicelib.api.shapes import Page, Timestamp
from chalicelib.domain.background import task_list, tasks
from chalicelib.domain.clock import iso
from chalicelib.models.tasks import Task

bp = Blueprint(__name__)


class TaskBody(TypedDict):
    """Work done in the background: poll `GET /tasks/{id}` until `status` is done or failed."""

    id: int
    kind: str
    status: str
    progress: int | None
    result: dict[str, Any] | None
    error: str | None
    date_created: Timestamp
    date_updated: Timestamp


def render_task(task: Task) -> TaskBody:
    return {
        "id": task.id,
        "kind": task.kind,
        "status": task.status,
        "progress": task.progress,
        "result": task.result,
        "error": task.error,
        "date_created": iso(task.date_created),
        "date_updated": iso(task.date_updated),
    }


@endpoint(
    bp,
    "/tasks",
    query=(
        *PAGED,
        Param("kind", "Only the tasks of this kind (e.g. `export_contacts`, `deployment_report`)."),
        Param("status", "Only the tasks in this status: pending, running, completed or failed."),
    ),
)
def list_tasks(call: Call) -> Page[TaskBody]:
    """The company's background tasks, newest first."""
    page = task_list.list_tasks(call.caller, call.page(), call.query("kind"), call.query("status"))
    return {"results": [render_task(task) for task in page.items], "next": page.next}


@endpoint(bp, "/tasks/{task_id}")
def get_task(call: Call, task_id: str) -> TaskBody:
    return render_task(tasks.get_task(call.caller, object_id(task_id, "task")))
