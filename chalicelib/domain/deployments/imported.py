"""An imported deployment may be submitted or approved only once its import has completed: until then
its recipients are still being written, and an approval would quote only the first of them."""

from __future__ import annotations

from chalicelib.domain.errors import Conflict
from chalicelib.domain.rules.lifecycle import Job
from chalicelib.models.deployments import Deployment
from chalicelib.models.imports import Import


def check_import_finished(deployment: Deployment) -> None:
    """A 409 naming the import when a deployment made from a file does not yet hold all its rows."""
    if deployment.source != "import":
        return
    job = (
        None
        if deployment.import_id is None  # the moment between the draft and its import's record
        else Import.get_or_none(deployment.company, deployment.import_id, consistent_read=True)
    )
    if job is None:
        raise Conflict("This deployment's import is not recorded yet; try again.", code="import_not_finished")
    if job.status == Job.FAILED:
        raise Conflict(
            f"Import {job.id} of {job.filename} failed ({job.error}): "
            "import the file again into a new deployment.",
            code="import_failed",
        )
    if job.status != Job.COMPLETED:
        raise Conflict(
            f"Import {job.id} of {job.filename} is still {job.status} ({job.progress or 0}% read): "
            "its recipients are still being written. Submit it once the import has completed.",
            code="import_not_finished",
        )
