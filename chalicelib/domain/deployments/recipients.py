"""A deployment's recipients: frozen from its lists at approval, listed by status, discarded with a draft."""

from __future__ import annotations

from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.contacts import audience
from chalicelib.domain.deployments.quotes import messages_of, quote_builder
from chalicelib.domain.deployments.store import get
from chalicelib.domain.errors import invalid_field
from chalicelib.domain.rules.lifecycle import DELIVERY_STATUSES, Delivery
from chalicelib.models import batch
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient, recipient_key
from chalicelib.models.pagination import Page, PageRequest, paginate


def recipients(caller: Caller, deployment_id: int, page: PageRequest, status: str | None = None) -> Page:
    deployment = get(caller, deployment_id)
    if status is not None and status not in DELIVERY_STATUSES:
        raise invalid_field("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
    condition = None if status is None else Recipient.status == status
    return paginate(Recipient, deployment.id, page, filter_condition=condition)


def freeze(deployment: Deployment, company: Company) -> audience.Quote:
    """Copy the lists (merged, one row per message: `rules/destinations`) into the deployment's own
    recipients, so later list changes cannot touch it, and quote that copy. An opted-out row is not
    paid for, so it is never sent (even if the opt-out is lifted before the send). An imported
    deployment already has its own rows."""
    if deployment.source == "import":
        return _mark_imported(deployment, company)
    discard_recipients(deployment)
    builder = quote_builder(deployment, company)
    writer = batch.ConcurrentWriter(Recipient.Meta.table_name)
    try:
        for page in audience.pages(messages_of(deployment)):
            blocked = builder.add(page)
            for recipient in page:
                recipient.quoted = deployment.version
                if recipient.msisdn in blocked and not audience.unreachable(recipient):
                    recipient.status = Delivery.OPTED_OUT
            writer.submit([recipient.serialize() for recipient in page])
        writer.wait()
    finally:
        writer.close()
    return builder.quote


def _mark_imported(deployment: Deployment, company: Company) -> audience.Quote:
    """An imported deployment's own recipients, quoted and stamped so (a row written after this is
    never sent), with those opted out now marked so (and any marked at an earlier approval whose
    opt-out was lifted since, queued again)."""
    builder = quote_builder(deployment, company)
    writer = batch.ConcurrentWriter(Recipient.Meta.table_name)
    try:
        for page in audience.pages(audience.recipients_of(deployment.id)):
            blocked = builder.add(page)
            for recipient in page:
                recipient.status = Delivery.OPTED_OUT if recipient.msisdn in blocked else Delivery.QUEUED
                recipient.campaign = deployment.linked_campaign
                recipient.quoted = deployment.version
            writer.submit([recipient.serialize() for recipient in page])
        writer.wait()
    finally:
        writer.close()
    return builder.quote


def discard_recipients(deployment: Deployment) -> None:
    """Remove a deployment's recipients (a new freeze replaces them; a deleted draft leaves none)."""
    keys = [
        recipient_key(deployment.id, r.msisdn)
        for r in Recipient.query(deployment.id, attributes_to_get=["deployment", "msisdn"])
    ]
    batch.delete_keys(Recipient.Meta.table_name, keys)
