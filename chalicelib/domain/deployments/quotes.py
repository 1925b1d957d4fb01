"""What a deployment will cost: the quote over its lists (or its own recipients) and the stored one."""

from __future__ import annotations

from collections.abc import Iterator

from chalicelib.domain.accounts.auth import Caller
from chalicelib.domain.accounts.companies import get_company
from chalicelib.domain.background import tasks
from chalicelib.domain.contacts import audience
from chalicelib.domain.contacts.audience import Quote, QuoteBuilder
from chalicelib.domain.deployments.store import get
from chalicelib.domain.rules.lifecycle import DRAFT, PENDING_APPROVAL
from chalicelib.domain.rules.optout_policy import honours_optouts
from chalicelib.domain.rules.templates import compile_template
from chalicelib.models.base import condition_failed
from chalicelib.models.companies import Company
from chalicelib.models.contacts import ContactList
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.models.tasks import Task

SYNC_AUDIENCE = 20_000  # above this many contacts, quoting and approving happen in a task
CURRENT, PENDING, FAILED = "current", "pending", "failed"
_QUOTABLE = Deployment.status.is_in(DRAFT, PENDING_APPROVAL)  # a quote changes nothing once approved


def quote(caller: Caller, deployment_id: int) -> Quote:
    """What sending costs: computed on the audience as it is now while the deployment can change, the
    reserved figures once it is approved."""
    deployment = get(caller, deployment_id)
    if deployment.status not in (DRAFT, PENDING_APPROVAL):
        return stored_quote(deployment)
    result = compute_quote(deployment, get_company(caller))
    _store(deployment, result)
    return result


def compute_quote(deployment: Deployment, company: Company) -> Quote:
    builder = quote_builder(deployment, company)
    people = (
        audience.recipients_of(deployment.id) if deployment.source == "import" else messages_of(deployment)
    )
    for page in audience.pages(people):
        builder.add(page)
    return builder.quote


def messages_of(deployment: Deployment) -> Iterator[Recipient]:
    """The deployment's messages (not yet written) to its lists as they are now."""
    people = audience.merged_lists(deployment.contact_lists)
    return audience.messages_to(
        deployment.id, deployment.company, deployment.dispatch, people, deployment.linked_campaign
    )


def quote_builder(deployment: Deployment, company: Company) -> QuoteBuilder:
    return QuoteBuilder(
        company=company.id,
        sender=deployment.sender or company.sender_id,
        honours_optouts=honours_optouts(deployment.marketing, deployment.optout),
        template=compile_template(deployment.message or ""),
        optout_text=company.optout_text if deployment.optout else None,
        email_credits=company.email_credits,
        substitute=deployment.gsm_substitute,
    )


DEPLOYMENT_SENDER, COMPANY_SENDER, GATEWAY_DEFAULT = "deployment", "company", "gateway_default"


def sending_from(deployment: Deployment, company: Company) -> tuple[str | None, str]:
    """The sender its SMS go out from, and whose choice that is: the deployment's own `sender`, the
    company's `sender_id`, or none (the gateway's default origination number); frozen once approved."""
    if deployment.sender:
        return deployment.sender, DEPLOYMENT_SENDER
    chosen = (
        deployment.frozen_sender if deployment.status not in (DRAFT, PENDING_APPROVAL) else company.sender_id
    )
    return (chosen, COMPANY_SENDER) if chosen else (None, GATEWAY_DEFAULT)


def quote_actions(result: Quote) -> list:
    return [
        Deployment.total_contacts.set(result.recipients),
        Deployment.total_credits.set(result.credits),
        Deployment.opted_out.set(result.opted_out),
        Deployment.email_opted_out.set(result.email_opted_out),
        Deployment.emails.set(result.emails),
        Deployment.sms_segments.set(result.segments_total),
        Deployment.sms_segments_substituted.set(result.segments_if_substituted),
        Deployment.unreachable.set(result.unreachable),
        Deployment.encoding.set(result.encoding),
        Deployment.non_gsm_chars.set(sorted(result.non_gsm_chars)[: audience.MAX_NON_GSM_SHOWN]),
    ]


def email_price(deployment: Deployment) -> int:
    """What each of a deployment's emails costs: the company's `email_credits` frozen at approval (0 is
    a price too)."""
    return 1 if deployment.frozen_email_credits is None else deployment.frozen_email_credits


def stored_quote(deployment: Deployment) -> Quote:
    email_credits = email_price(deployment)
    segments = deployment.sms_segments
    return Quote(
        recipients=deployment.total_contacts,
        opted_out=deployment.opted_out,
        segments_total=deployment.total_credits if segments is None else segments,
        segments_if_substituted=deployment.sms_segments_substituted or (segments or 0),
        emails=deployment.emails,
        email_opted_out=deployment.email_opted_out,
        unreachable=deployment.unreachable,
        email_credits=email_credits,
        encoding=deployment.encoding or "GSM-7",
        non_gsm_chars=set(deployment.non_gsm_chars or []),
    )


def quote_task(task: Task) -> dict:
    deployment = Deployment.get(task.company, task.params["deployment"], consistent_read=True)
    result = compute_quote(deployment, Company.get(task.company))
    _store(deployment, result)
    return result.as_dict()


def quote_failed(task: Task) -> None:
    """A quote task that failed for good: its draft says `quote_status` failed (its totals are the last
    quote's) until an edit or GET /quote quotes it again."""
    try:
        Deployment(company=task.company, id=task.params["deployment"]).update(
            actions=[Deployment.quote_status.set(FAILED)],
            condition=(Deployment.quote_status == PENDING) & _QUOTABLE,
        )
    except Exception as error:
        if not condition_failed(error):
            raise


def refresh_quote(caller: Caller, deployment: Deployment) -> None:
    """Make a draft's `total_contacts` and `total_credits` its current quote after a create or an edit:
    at once for an audience up to SYNC_AUDIENCE contacts, else by a task (`quote_status` pending till
    then). An imported draft is quoted by a task too (and once more when its import completes)."""
    if deployment.source == "import" or audience_size(deployment) > SYNC_AUDIENCE:
        try:
            deployment.update(actions=[Deployment.quote_status.set(PENDING)], condition=_QUOTABLE)
        except Exception as error:
            if condition_failed(error):
                return  # approved meanwhile: the approval's quote stands
            raise
        tasks.start(caller, "quote_deployment", {"deployment": deployment.id})
        return
    _store(deployment, compute_quote(deployment, get_company(caller)))


def _store(deployment: Deployment, result: Quote) -> None:
    """Keep `result` as the deployment's current quote, unless it was edited meanwhile (the edit's own
    refresh quotes it) or approved (the approval froze its own quote)."""
    try:
        deployment.update(
            actions=[*quote_actions(result), Deployment.quote_status.set(CURRENT)],
            condition=(Deployment.version == deployment.version) & _QUOTABLE,
        )
    except Exception as error:
        if not condition_failed(error):
            raise


def audience_size(deployment: Deployment) -> int:
    """How many contacts a deployment's audience holds (its own rows once imported)."""
    if deployment.source == "import":
        return deployment.total_contacts
    lists = [ContactList.get_or_none(deployment.company, i) for i in deployment.contact_lists]
    return sum(c.contact_count for c in lists if c is not None)
