"""The company's callback attempts, as `GET /callbacks` shows them, and a replay of one."""

from __future__ import annotations

import functools
import operator

from chalicelib.domain import clock
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.callbacks import delivery, events
from chalicelib.domain.errors import NotFound, invalid_field
from chalicelib.models.callbacks import CallbackAttempt
from chalicelib.models.pagination import Page, PageRequest, paginate_filtered


def list_attempts(caller: Caller, page: PageRequest, status: str | None, kind: str | None) -> Page:
    """Newest first; expired records are left out (DynamoDB's TTL may not have removed them yet)."""
    conditions = [CallbackAttempt.expires_at > int(clock.now().timestamp())]
    if status is not None:
        if status not in delivery.STATUSES:
            raise invalid_field("status", f"must be one of {', '.join(delivery.STATUSES)}")
        conditions.append(CallbackAttempt.status == status)
    if kind is not None:
        if kind not in events.TYPES:
            raise invalid_field("type", f"must be one of {', '.join(events.TYPES)}")
        conditions.append(CallbackAttempt.type == kind)
    condition = functools.reduce(operator.and_, conditions)
    return paginate_filtered(CallbackAttempt, caller.company, page, condition, scan_index_forward=False)


def get_attempt(caller: Caller, attempt_id: int) -> CallbackAttempt:
    found = CallbackAttempt.get_or_none(caller.company, attempt_id, consistent_read=True)
    if not delivery.is_live(found):
        raise NotFound("There is no such callback attempt.")
    return found


def retry(caller: Caller, attempt_id: int) -> CallbackAttempt:
    """Send the attempt's event again now, whatever became of it."""
    attempt = get_attempt(caller, attempt_id)
    delivery.replay(caller.company, attempt)
    return attempt
