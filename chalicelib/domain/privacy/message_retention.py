"""Retention of sent messages: each night, the texts of messages sent more than the company's
`message_retention_days` ago are dropped; statuses, counts, costs and stats stay.

Cheap by construction: API messages are read in id order (ids grow with time) from where the last run
stopped, so each is read once in its life (one still unsettled then is set aside and read again each
night until it settles); a deployment's recipients are read once, when it is past
retention, and the deployment is marked so. The companies and their deployments are read each night."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib.domain import clock
from chalicelib.domain.background import leases
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.domain.rules.retention import kept_since
from chalicelib.domain.rules.segments import cost
from chalicelib.models import dynamodb
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Message, Recipient
from chalicelib.models.retention import drop_message_text, drop_recipient_text

UNSETTLED = (Delivery.QUEUED, Delivery.SENDING)
MAX_UNSETTLED = 100  # unsettled messages set aside per company (one BatchGetItem each night reads them)
FIGURES = ("characters", "per_segment", "non_gsm")


def drop_old_bodies() -> dict[str, int]:
    """Every company's texts past retention dropped, once at a time (a lease keeps runs apart)."""
    with leases.held("message-retention", seconds=3600) as mine:
        if not mine:
            return {"skipped": 1}
        totals: Counter[str] = Counter()
        for company in Company.scan():
            totals.update(drop_company_bodies(company))
        return dict(totals)


def drop_company_bodies(company: Company) -> Counter[str]:
    cutoff = kept_since(clock.now(), company.message_retention_days)
    return Counter(messages=drop_messages(company, cutoff), recipients=drop_recipients(company, cutoff))


def figures_of(text: str) -> dict[str, object]:
    """How a text was counted, kept when the text goes (so the message reads the same)."""
    counted = cost(text).as_dict()
    return {name: counted[name] for name in FIGURES}


def drop_messages(company: Company, cutoff: datetime) -> int:
    """API messages made before `cutoff` and settled: those earlier runs set aside, then the new ones
    from the last run's stopping place; returns how many lost their text. A message still unsettled is
    set aside (`bodies_unsettled`) and looked at again each night until it settles, so it stops no run
    (unless MAX_UNSETTLED are aside already: then the run stops at it, as it waits there)."""
    before = set(company.bodies_unsettled or ())
    aside: set[int] = set()
    dropped = 0
    for message in Message.batch_get([(company.id, i) for i in sorted(before)]):
        if message.status in UNSETTLED:
            aside.add(message.id)
        else:
            dropped += _drop_text(company, message)
    after = company.bodies_dropped_through
    condition = Message.id > after if after is not None else None
    last = after
    for message in Message.query(company.id, range_key_condition=condition):
        if message.date_created >= cutoff:
            break
        if message.status not in UNSETTLED:
            dropped += _drop_text(company, message)
        elif len(aside) < MAX_UNSETTLED:
            aside.add(message.id)
        else:
            break
        last = message.id
    _move_watermark(company, after, last, before, aside)
    return dropped


def _drop_text(company: Company, message: Message) -> int:
    if message.text is None:
        return 0
    _drop(drop_message_text(company.id, message.id, figures_of(message.text)))
    return 1


def _move_watermark(
    company: Company, after: int | None, last: int | None, before: set[int], aside: set[int]
) -> None:
    actions = [Company.bodies_dropped_through.set(last)] if last != after else []
    if aside != before:
        unsettled = Company.bodies_unsettled
        actions.append(unsettled.set(aside) if aside else unsettled.remove())
    if actions:
        company.update(actions=actions)


def drop_recipients(company: Company, cutoff: datetime) -> int:
    """The texts of every finished deployment's recipients, once the deployment is past `cutoff`."""
    dropped = 0
    finished = (Deployment.date_finished < cutoff) & Deployment.bodies_dropped.does_not_exist()
    for deployment in Deployment.query(company.id, filter_condition=finished):
        for recipient in Recipient.query(
            deployment.id, attributes_to_get=["deployment", "msisdn", "message"]
        ):
            if recipient.message is not None:
                _drop(drop_recipient_text(deployment.id, recipient.msisdn))
                dropped += 1
        deployment.update(actions=[Deployment.bodies_dropped.set(clock.now())])
    return dropped


def _drop(params: dict[str, object]) -> None:
    try:
        dynamodb.update(**params)
    except dynamodb.ConditionFailed:
        return  # erased or gone meanwhile
