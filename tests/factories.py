"""Test factories: objects saved through the real domain code and models, with keyword defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.accounts import companies, users
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.rules.lifecycle import CHARGED
from chalicelib.models.companies import Company
from chalicelib.models.users import User

_numbers = itertools.count(1)


def later(**delta: float) -> str:
    """A moment after Colony's (pinned) clock, as the API writes it: `later(days=1)` is tomorrow."""
    from datetime import timedelta

    from chalicelib.domain import clock

    return clock.iso(clock.now() + timedelta(**(delta or {"days": 1})))


@dataclass
class Member:
    user: User
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}", "Content-Type": "application/json"}


@dataclass
class Tenant:
    """A company with one user of each role."""

    company: Company
    admin: Member
    approver: Member
    member: Member
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.company.id

    def as_role(self, role: str) -> Member:
        return getattr(self, role)


def create_company(name: str | None = None, credits: int = 1000, **settings: Any) -> companies.NewCompany:
    n = next(_numbers)
    return companies.create_company(
        name or f"Company {n}", f"admin{n}@example.com", credits=credits, **settings
    )


def create_user(company_id: int, role: str = "member", email: str | None = None) -> Member:
    created = users.create_user(
        Caller.operator(company_id), email or f"user{next(_numbers)}@example.com", role
    )
    return Member(user=created.user, api_key=created.api_key)


def create_tenant(name: str | None = None, credits: int = 1000, **settings: Any) -> Tenant:
    new = create_company(name, credits, **settings)
    return Tenant(
        company=new.company,
        admin=Member(user=new.admin, api_key=new.api_key),
        approver=create_user(new.company.id, "approver"),
        member=create_user(new.company.id, "member"),
    )


def create_contact_list(company_id: int, title: str = "Customers"):
    from chalicelib.domain.contacts import contact_lists

    return contact_lists.create_list(Caller.operator(company_id), title)


def create_contacts(company_id: int, list_id: int, *msisdns: str, **values: Any):
    """Contacts saved through the domain (one per number), returned in order."""
    from chalicelib.domain.contacts import contacts

    results = contacts.save_contacts(
        Caller.operator(company_id), list_id, [{"msisdn": m, **values} for m in msisdns]
    )
    assert all(r.status in ("created", "updated") for r in results), results
    return [r.contact for r in results]


def create_optout(company_id: int, originator: str, sender: str | None = None, reason: str | None = None):
    from chalicelib.domain.contacts import optouts

    return optouts.create(company_id, originator, sender, reason, source="api").optout


def create_deployment(
    tenant: Tenant, contact_lists: list[int], message: str = "Hello {{first_name}}", **fields: Any
):
    """A draft made by the tenant's member (so its approver may approve it)."""
    from chalicelib.domain.deployments import drafts

    caller = Caller(company=tenant.id, user=tenant.member.user.id, role="member")
    data = {"title": "Spring sale", "message": message, "contact_lists": contact_lists, **fields}
    return drafts.create(caller, data)


def pending_deployment(tenant: Tenant, contact_lists: list[int], **fields: Any):
    from chalicelib.domain.deployments import drafts

    draft = create_deployment(tenant, contact_lists, **fields)
    return drafts.submit(Caller(company=tenant.id, user=tenant.member.user.id, role="member"), draft.id)


def approved_deployment(api: Any, tenant: Tenant, numbers: list[str], **fields: Any) -> int:
    """A list of `numbers` (each named Ann), a deployment to it approved through the API; its id."""
    contact_list = create_contact_list(tenant.id)
    create_contacts(tenant.id, contact_list.id, *numbers, first_name="Ann")
    deployment = pending_deployment(tenant, [contact_list.id], **fields)
    answer = api.post(f"/deployments/{deployment.id}/approve", tenant.approver)
    assert answer.status == 200, answer.body
    return deployment.id


def create_campaign(company_id: int, title: str = "Black Friday"):
    from chalicelib.domain.accounts import campaigns

    return campaigns.create_campaign(Caller.operator(company_id), title)


def create_saved_query(company_id: int, query: str, title: str = "Cape people"):
    from chalicelib.domain.contacts import saved_queries

    return saved_queries.create(Caller.operator(company_id), {"title": title, "query": query})


def create_recipient(deployment: Any, msisdn: str, status: str = "queued", **fields: Any):
    """A recipient of `deployment` stored in `status` as the sender leaves it (no pipeline run): a sent,
    delivered or unknown one has a provider id and a send time, a failed one its error."""
    from chalicelib.domain import clock
    from chalicelib.models.deployments import Recipient

    now = clock.now()
    values: dict[str, Any] = {
        "deployment": deployment.id,
        "msisdn": msisdn,
        "company": deployment.company,
        "message": deployment.message,
        "status": status,
        "segments": None if status == "opted_out" else 1,
        "provider_id": f"test-{deployment.id}-{msisdn}" if status in CHARGED else None,
        "error": "InvalidNumber: no route" if status == "failed" else None,
        "date_sent": now if status in CHARGED else None,
        "date_delivered": now if status == "delivered" else None,
    }
    recipient = Recipient(**{**values, **fields})
    recipient.save()
    return recipient


def create_message(company_id: int, destination: str = "27815854565", status: str = "sent", **fields: Any):
    """An API message stored in `status` as the sender leaves it (no pipeline run)."""
    from chalicelib.domain import clock
    from chalicelib.models.counters import allocate_ids
    from chalicelib.models.deployments import Message

    now = clock.now()
    values: dict[str, Any] = {
        "company": company_id,
        "id": allocate_ids("message")[0],
        "destination": destination,
        "text": "Your code is 1234",
        "status": status,
        "segments": 1,
        "encoding": "GSM-7",
        "credits": 1,
        "provider_id": f"test-message-{destination}" if status in CHARGED else None,
        "error": "InvalidNumber: no route" if status == "failed" else None,
        "date_created": now,
        "date_sent": now if status in CHARGED else None,
        "date_delivered": now if status == "delivered" else None,
    }
    message = Message(**{**values, **fields})
    message.save()
    return message


def create_import(
    company_id: int, user_id: int, contact_list: int | None = None, status: str = "completed", **fields: Any
):
    """An import job stored in `status` (no file, no worker run), its counts given by keyword."""
    from chalicelib.domain import clock
    from chalicelib.models.counters import allocate_ids
    from chalicelib.models.imports import Import

    now = clock.now()
    import_id = allocate_ids("import")[0]
    values: dict[str, Any] = {
        "company": company_id,
        "id": import_id,
        "kind": "contacts",
        "user": user_id,
        "contact_list": contact_list,
        "status": status,
        "filename": "customers.csv",
        "source_key": f"uploads/{company_id}/{import_id}/customers.csv",
        "date_created": now,
        "date_updated": now,
        "date_completed": now if status in ("completed", "failed") else None,
    }
    job = Import(**{**values, **fields})
    job.save()
    return job
