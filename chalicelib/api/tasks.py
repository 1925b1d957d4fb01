from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, object_id
from chalicelib.domain.background import tasks
from chalicelib.domain.clock import iso
from chalicelib.models.tasks import Task

bp = Blueprint(__name__)


def render_task(task: Task) -> dict:
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


@endpoint(bp, "/tasks/{task_id}")
def get_task(call: Call, task_id: str) -> dict:
    return render_task(tasks.get_task(call.caller, object_id(task_id, "task")))
