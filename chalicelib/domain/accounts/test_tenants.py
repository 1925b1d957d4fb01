"""A company's test tenant: a company of its own (id `-<live id>`, see `rules/modes`), opened with a copy
of the live company's settings the first time test mode is used, and its own afterwards."""

from __future__ import annotations

import secrets

from pynamodb.exceptions import PutError

from chalicelib.domain import clock
from chalicelib.domain.errors import NotFound
from chalicelib.domain.rules.modes import test_tenant
from chalicelib.models.base import condition_failed
from chalicelib.models.companies import Company

# Never copied: the balance and its day's use (a test tenant has none to spend), the admin count (users
# stay on the live account), the secrets that name the live company from outside (its webhook and
# unsubscribe links), its callbacks (test events go only where the test data subscribes, signed with its
# own secret), and the live company's retention bookkeeping.
_NOT_COPIED = {
    "id",
    "credits",
    "credits_used",
    "daily_credit_limit",
    "admin_count",
    "webhook_token",
    "unsubscribe_secret",
    "callback_url",
    "callback_secret",
    "callback_secret_previous",
    "callback_secret_rotated",
    "bodies_dropped_through",
    "bodies_unsettled",
    "date_created",
}


def open_test_tenant(live: int) -> Company:
    """The live company's test tenant, made now (conditionally, so two first requests make one) if it
    does not exist yet."""
    tenant_id = test_tenant(live)
    found = Company.get_or_none(tenant_id)
    if found is not None:
        return found
    company = Company.get_or_none(live)
    if company is None:
        raise NotFound("The company no longer exists.")
    now = clock.now()
    copied = {
        name: getattr(company, name)
        for name in Company.get_attributes()
        if name not in _NOT_COPIED and getattr(company, name) is not None
    }
    tenant = Company(
        id=tenant_id,
        credits=0,
        admin_count=0,
        webhook_token=secrets.token_urlsafe(24),
        unsubscribe_secret=secrets.token_urlsafe(32),
        date_created=now,
        **{**copied, "date_updated": now},
    )
    try:
        tenant.save(condition=Company.id.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        return Company.get(tenant_id, consistent_read=True)
    return tenant
