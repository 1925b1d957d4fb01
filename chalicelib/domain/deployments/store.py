"""Reading a deployment of the caller's company, and the guard that turns a deployment changed meanwhile
into a 409."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.models.base import condition_failed
from chalicelib.models.deployments import Deployment


def get(caller: Caller, deployment_id: int) -> Deployment:
    found = Deployment.get_or_none(caller.company, deployment_id, consistent_read=True)
    if found is None:
        raise NotFound(f"There is no deployment {deployment_id}.")
    return found


@contextlib.contextmanager
def unchanged_meanwhile() -> Iterator[None]:
    """A conditional write that found the deployment moved on is a 409, not a server error."""
    try:
        yield
    except Exception as error:
        if condition_failed(error):
            raise Conflict(
                "The deployment changed meanwhile; read it again.", code="concurrent_change"
            ) from error
        raise
