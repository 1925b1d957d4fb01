"""Approval: a second person freezes the audience, the quote is made on it, and exactly that many credits
are reserved from the company in the same transaction that approves. Cancelling returns them.

Money rules: a reservation is one DynamoDB transaction (the deployment moves from pending to approved
on the version that was quoted, and the balance drops only if it covers the amount), so two approvals
racing for one balance can never both win and the balance never goes below zero; a refund is the same
kind of transaction (the deployment leaves `approved` once, and its reservation goes back once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.domain import clock
from chalicelib.domain.accounts import sender_numbers
from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.audit.entries import record
from chalicelib.domain.background import tasks
from chalicelib.domain.contacts import audience
from chalicelib.domain.credits import refund, refusal, take
from chalicelib.domain.deployments.imported import check_import_finished
from chalicelib.domain.deployments.launch import launch
from chalicelib.domain.deployments.quotes import CURRENT, SYNC_AUDIENCE, audience_size, quote_actions
from chalicelib.domain.deployments.recipients import freeze
from chalicelib.domain.deployments.settlement import finish
from chalicelib.domain.deployments.store import get, unchanged_meanwhile
from chalicelib.domain.errors import Conflict, Forbidden, InsufficientCredits
from chalicelib.domain.rules import lifecycle
from chalicelib.domain.rules.channels import DISPATCH, EMAIL
from chalicelib.domain.rules.lifecycle import APPROVED, CANCELLED, PAUSED, PENDING_APPROVAL
from chalicelib.log import logger
from chalicelib.models.base import condition_failed, failed_conditions, transaction
from chalicelib.models.companies import Company
from chalicelib.models.deployments import APPROVAL_LEASE, Deployment
from chalicelib.models.tasks import Task

APPROVAL_LEASE_SECONDS = 900


@dataclass(frozen=True)
class Approval:
    """The approved deployment, or the task approving it in the background (big audiences)."""

    deployment: Deployment | None = None
    task: Task | None = None


def approve(caller: Caller, deployment_id: int) -> Approval:
    caller.require("approver", "admin")
    deployment = get(caller, deployment_id)
    lifecycle.move("approve", deployment.status)
    company = get_company(caller)
    if EMAIL in DISPATCH[deployment.dispatch] and not company.email_from:
        raise Conflict(
            "Set the company's email_from (PATCH /company) before approving a deployment that sends email.",
            code="email_not_set_up",
        )
    if company.require_second_approver:
        _check_second_person(caller, deployment)
    check_import_finished(deployment)
    if audience_size(deployment) > SYNC_AUDIENCE:
        return Approval(
            task=tasks.start(
                caller,
                "approve_deployment",
                # the request's credential rides along, so the approval's audit entry names it
                {
                    "deployment": deployment.id,
                    "version": deployment.version,
                    "api_key": caller.api_key,
                    "session": caller.session,
                },
            )
        )
    return Approval(deployment=approve_now(caller, deployment, company))


def _check_second_person(caller: Caller, deployment: Deployment) -> None:
    """Whoever approves must be someone else than the people who made, changed or submitted it."""
    if caller.user is None:
        return
    why = (
        "created"
        if deployment.created_by == caller.user
        else "changed"
        if caller.user in (deployment.editors or set())
        else "submitted"
        if deployment.submitted_by == caller.user
        else None
    )
    if why:
        raise Forbidden(
            f"A deployment needs a second person to approve it: you {why} this one.",
            code="second_approver_required",
        )


def _check_sender(deployment: Deployment, company: Company) -> Condition | None:
    """The number it will send from must still be the company's: the operator may have moved it to
    another company since the draft was written (its replies and STOPs would go there). Returns the
    condition the reservation holds it to, so a removal meanwhile cannot slip between."""
    sender = deployment.sender or company.sender_id
    try:
        return sender_numbers.chosen(company, sender)
    except ValueError:
        raise Conflict(
            f"The deployment would send from {sender}, which is no longer one of the company's numbers: "
            "choose another sender.",
            code="sender_not_ours",
        ) from None


def approve_task(task: Task) -> dict:
    caller = Caller(
        company=task.company,
        user=task.user,
        role="approver",
        session=task.params.get("session"),
        api_key=task.params.get("api_key"),
    )
    deployment = Deployment.get(task.company, task.params["deployment"], consistent_read=True)
    if deployment.status == APPROVED:
        return {"deployment": deployment.id, "status": "approved"}
    if deployment.version != task.params["version"]:
        raise Conflict(
            "The deployment was edited after the approval was asked for.", code="concurrent_change"
        )
    try:
        approved = approve_now(caller, deployment, Company.get(task.company))
    except InsufficientCredits as error:
        deployment.update(actions=[Deployment.error.set(error.message)])
        raise
    return {"deployment": approved.id, "status": "approved", "credits": approved.total_credits}


def approve_now(caller: Caller, deployment: Deployment, company: Company) -> Deployment:
    """Freeze, quote and reserve, holding a short lease so that one approval runs at a time; a
    deployment already due starts at once instead of waiting for the launcher's next minute."""
    sender_held = _check_sender(deployment, company)
    token = _take_lease(deployment)
    try:
        quote = freeze(deployment, company)
        _reserve(caller, deployment, company, token, quote, sender_held)
    finally:
        _drop_lease(deployment, token)
    approved = get(caller, deployment.id)
    if approved.send_date is None or approved.send_date <= clock.now():
        launch(approved, clock.now())
        approved = get(caller, deployment.id)
    return approved


def _reserve(
    caller: Caller,
    deployment: Deployment,
    company: Company,
    token: str,
    quote: audience.Quote,
    sender_held: Condition | None = None,
) -> None:
    credits = quote.credits
    try:
        with transaction() as write:
            write.update(
                deployment,
                actions=[
                    *quote_actions(quote),
                    Deployment.quote_status.set(CURRENT),
                    Deployment.status.set(APPROVED),
                    Deployment.approved_by.set(caller.user),
                    Deployment.launch_queue.set("due"),
                    Deployment.launch_at.set(clock.iso(deployment.send_date or clock.now())),
                    Deployment.frozen_sender.set(deployment.sender or company.sender_id or ""),
                    Deployment.frozen_optout_text.set(company.optout_text if deployment.optout else ""),
                    Deployment.frozen_email_credits.set(quote.email_credits),
                    Deployment.reserved.set(credits),
                    Deployment.date_approved.set(clock.now()),
                    Deployment.date_updated.set(clock.now()),
                    Deployment.error.remove(),
                ],
                condition=(Deployment.status == PENDING_APPROVAL)
                & (Deployment.version == deployment.version)
                & APPROVAL_LEASE.held_by(token),
            )
            take(write, company, credits, also=sender_held)
            changes = {
                "status": (lifecycle.NAMES[PENDING_APPROVAL], lifecycle.NAMES[APPROVED]),
                "approved_by": (deployment.approved_by, caller.user),
                "reserved": (deployment.reserved or 0, credits),
            }
            record(write, caller, "deployment.approved", "deployment", deployment.id, changes)
    except TransactWriteError as error:
        deployment_failed, company_failed = [*failed_conditions(error), False, False][:2]
        if company_failed:
            current = Company.get(deployment.company, consistent_read=True)
            _check_sender(deployment, current)
            raise refusal(current, credits) or Conflict(
                "The company's daily credit limit changed while the deployment was being approved; "
                "approve it again.",
                code="concurrent_change",
            ) from error
        if deployment_failed:
            raise Conflict(
                "The deployment changed while it was being approved.", code="concurrent_change"
            ) from error
        raise
    logger.info("deployment approved", deployment=deployment.id, credits=credits)


def cancel(caller: Caller, deployment_id: int) -> Deployment:
    """Cancel before sending (an approved deployment's reservation goes back to the company), or while
    paused (what was not sent fails and its credits go back)."""
    deployment = get(caller, deployment_id)
    lifecycle.move("cancel", deployment.status)
    changes = {
        "status": (lifecycle.NAMES[deployment.status], lifecycle.NAMES[CANCELLED]),
        "reserved": (deployment.reserved or 0, 0),
    }

    def audited(write: TransactWrite) -> None:
        record(write, caller, "deployment.cancelled", "deployment", deployment.id, changes)

    if deployment.status == PAUSED:
        finish(deployment, final=CANCELLED, also=audited)
        return get(caller, deployment_id)
    actions = [
        Deployment.status.set(CANCELLED),
        Deployment.updated_by.set(caller.user),
        Deployment.launch_queue.remove(),
        Deployment.launch_at.remove(),
        Deployment.date_updated.set(clock.now()),
    ]
    with unchanged_meanwhile():
        if deployment.status == APPROVED:
            with transaction() as write:
                write.update(
                    deployment,
                    actions=[*actions, Deployment.reserved.set(0)],
                    condition=Deployment.status == APPROVED,
                )
                refund(write, deployment.company, deployment.reserved)
                audited(write)
        else:
            with transaction() as write:
                write.update(deployment, actions=actions, condition=Deployment.status == deployment.status)
                audited(write)
    return get(caller, deployment_id)


def _take_lease(deployment: Deployment) -> str:
    token = str(uuid.uuid4())
    now = int(clock.now().timestamp())
    try:
        deployment.update(
            actions=APPROVAL_LEASE.take(token, now, APPROVAL_LEASE_SECONDS),
            condition=(Deployment.status == PENDING_APPROVAL)
            & (Deployment.version == deployment.version)
            & APPROVAL_LEASE.free(now),
        )
    except Exception as error:
        if condition_failed(error):
            raise Conflict(
                "This deployment is already being approved, or it changed meanwhile.",
                code="concurrent_change",
            ) from error
        raise
    return token


def _drop_lease(deployment: Deployment, token: str) -> None:
    try:
        deployment.update(
            actions=APPROVAL_LEASE.release(),
            condition=APPROVAL_LEASE.held_by(token),
        )
    except Exception as error:
        if not condition_failed(error):
            raise
