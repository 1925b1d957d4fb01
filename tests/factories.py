"""Test factories: objects saved through the real domain code and models, with keyword defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain import companies, users
from chalicelib.domain.auth import Caller
from chalicelib.models.companies import Company
from chalicelib.models.users import User

_numbers = itertools.count(1)


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
    from chalicelib.domain import contact_lists

    return contact_lists.create_list(Caller.operator(company_id), title)


def create_contacts(company_id: int, list_id: int, *msisdns: str, **values: Any):
    """Contacts saved through the domain (one per number), returned in order."""
    from chalicelib.domain import contacts

    results = contacts.save_contacts(
        Caller.operator(company_id), list_id, [{"msisdn": m, **values} for m in msisdns]
    )
    assert all(r.status in ("created", "updated") for r in results), results
    return [r.contact for r in results]


def create_optout(company_id: int, originator: str, sender: str | None = None, reason: str | None = None):
    from chalicelib.domain import optouts

    return optouts.create(company_id, originator, sender, reason, source="api").optout


def create_deployment(
    tenant: Tenant, contact_lists: list[int], message: str = "Hello {{first_name}}", **fields: Any
):
    """A draft made by the tenant's member (so its approver may approve it)."""
    from chalicelib.domain import deployments

    caller = Caller(company=tenant.id, user=tenant.member.user.id, role="member")
    data = {"title": "Spring sale", "message": message, "contact_lists": contact_lists, **fields}
    return deployments.create(caller, data)


def pending_deployment(tenant: Tenant, contact_lists: list[int], **fields: Any):
    from chalicelib.domain import deployments

    draft = create_deployment(tenant, contact_lists, **fields)
    return deployments.submit(Caller(company=tenant.id, user=tenant.member.user.id, role="member"), draft.id)


def approved_deployment(api: Any, tenant: Tenant, numbers: list[str], **fields: Any) -> int:
    """A list of `numbers` (each named Ann), a deployment to it approved through the API; its id."""
    contact_list = create_contact_list(tenant.id)
    create_contacts(tenant.id, contact_list.id, *numbers, first_name="Ann")
    deployment = pending_deployment(tenant, [contact_list.id], **fields)
    answer = api.post(f"/deployments/{deployment.id}/approve", tenant.approver)
    assert answer.status == 200, answer.body
    return deployment.id
