"""Why an approved (or hours-paused) deployment has not gone out yet, and until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain import clock
from chalicelib.domain.deployments.launch import DUE
from chalicelib.domain.rules.lifecycle import APPROVED, PAUSED
from chalicelib.domain.rules.quiet_hours import marketing_may_go, next_opening
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment

SEND_DATE, QUIET_HOURS, LAUNCHING = "send_date", "quiet_hours", "launching"
REASONS = (SEND_DATE, QUIET_HOURS, LAUNCHING)


@dataclass(frozen=True)
class Waiting:
    """`reason`: its `send_date` is still to come, the company's marketing hours are closed, or it is due
    and the launcher (every minute) starts it; `until`: when that ends (UTC)."""

    reason: str
    until: datetime


def waiting(deployment: Deployment, company: Company, now: datetime) -> Waiting | None:
    """What holds the deployment back now (None: nothing, or it is not waiting to start)."""
    if deployment.launch_at is None:
        return None
    at = datetime.fromisoformat(deployment.launch_at)
    if deployment.status == PAUSED and at > now:
        return Waiting(QUIET_HOURS, at)  # paused by the hours (a pause by hand has no launch_at)
    if deployment.status not in (APPROVED, PAUSED) or deployment.launch_queue != DUE:
        return None
    if at > now:
        planned = deployment.send_date is not None and clock.iso(deployment.send_date) == deployment.launch_at
        return Waiting(SEND_DATE if planned else QUIET_HOURS, at)
    if deployment.marketing and not marketing_may_go(company, "sms", now):
        return Waiting(QUIET_HOURS, next_opening(now, company.timezone, company.default_region))
    return Waiting(LAUNCHING, at)
