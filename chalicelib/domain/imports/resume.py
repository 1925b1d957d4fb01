"""An import's resume point and lease: what a fresh invocation needs to carry on exactly where the last
one committed, and the one worker allowed to write meanwhile."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain import clock
from chalicelib.domain.rules.lifecycle import Job
from chalicelib.log import logger
from chalicelib.models.base import condition_failed
from chalicelib.models.imports import IMPORT_LEASE, Import


class LeaseLost(Exception):
    """Another invocation holds the job now; this one must stop writing."""


@dataclass
class Counts:
    rows: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class ResumePoint:
    offset: int
    row: int
    counts: Counts
    layout: dict
    sequence: int = 0
    seen_key: str | None = None
    seen_bits: int = 0
    error_parts: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> ResumePoint:
        data = {k: v for k, v in data.items() if k != "errors_file"}
        return cls(**{**data, "counts": Counts(**data["counts"])})


def release(job: Import, owner: str) -> None:
    """Let a retry take the job at once after a failure this invocation survived (a crash cannot)."""
    try:
        job.update(actions=IMPORT_LEASE.release(), condition=IMPORT_LEASE.held_by(owner))
    except Exception:
        logger.exception("could not release the import lease", import_id=job.id)


def bind(job: Import, etag: str) -> bool:
    """Tie the job to the first object that arrives for it; later events must name the same object."""
    if job.etag is not None:
        return job.etag == etag
    try:
        job.update(actions=[Import.etag.set(etag)], condition=Import.etag.does_not_exist())
    except Exception as error:
        if not condition_failed(error):
            raise
        job.refresh(consistent_read=True)
    return job.etag == etag


def lease(job: Import, owner: str) -> bool:
    now = int(clock.now().timestamp())
    try:
        job.update(
            actions=[
                *IMPORT_LEASE.take(owner, now, LEASE_SECONDS),
                Import.status.set(Job.RUNNING),
                Import.invocations.add(1),
                Import.date_updated.set(clock.now()),
            ],
            condition=IMPORT_LEASE.free(now) & Import.status.is_in(Job.PENDING, Job.RUNNING),
        )
    except Exception as error:
        if condition_failed(error):
            return False
        raise
    return True


LEASE_SECONDS = 960
