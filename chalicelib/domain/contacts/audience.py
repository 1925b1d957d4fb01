"""A deployment's audience: its lists merged and deduplicated by contact key, read a page at a time,
its messages (a row per channel), and what it costs to send them (the quote)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from chalicelib.domain.contacts import optouts
from chalicelib.domain.rules.channels import EMAIL, SMS
from chalicelib.domain.rules.destinations import destinations, number_in, unreachable_reason
from chalicelib.domain.rules.gsm_substitution import substituted
from chalicelib.domain.rules.segments import GSM7, UCS2, Cost, cost
from chalicelib.domain.rules.templates import Template, priced_text
from chalicelib.models.contacts import Contact
from chalicelib.models.deployments import Recipient

PAGE = 100
RECIPIENTS_PAGE = 1000  # a deployment's recipients read a request
MAX_NON_GSM_SHOWN = 50


@dataclass
class Quote:
    """What a deployment costs: `recipients` messages to send (SMS and email), `segments_total` the SMS
    segments, `emails` the emails at `email_credits` each; `opted_out` (of which `email_opted_out`
    are emails) and `unreachable` (no number for an SMS, no address for an email) cost nothing."""

    recipients: int = 0
    opted_out: int = 0
    segments_total: int = 0
    encoding: str = GSM7
    non_gsm_chars: set[str] = field(default_factory=set)
    emails: int = 0
    email_opted_out: int = 0
    unreachable: int = 0
    email_credits: int = 1
    segments_if_substituted: int = 0
    sample: Cost | None = None  # the message as a recipient without personal values gets it

    @property
    def credits(self) -> int:
        return self.segments_total + self.emails * self.email_credits

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipients": self.recipients,
            "opted_out": self.opted_out,
            "segments_total": self.segments_total,
            "emails": self.emails,
            "unreachable": self.unreachable,
            "credits": self.credits,
            "credits_if_substituted": self.segments_if_substituted + self.emails * self.email_credits,
            "encoding": self.encoding,
            "non_gsm_chars": sorted(self.non_gsm_chars)[:MAX_NON_GSM_SHOWN],
            **_sample_figures(self.sample),
        }


def _sample_figures(sample: Cost | None) -> dict[str, Any]:
    """How the message itself is counted (for a recipient without personal values)."""
    if sample is None:
        return {"characters": None, "per_segment": None, "non_gsm": []}
    figures = sample.as_dict()
    return {name: figures[name] for name in ("characters", "per_segment", "non_gsm")}


def personal_values(person: Contact | Recipient) -> dict[str, Any]:
    """What a template reads from a contact or a recipient (an email recipient's number is `number`)."""
    return {
        "msisdn": getattr(person, "number", None) or number_in(person.msisdn),
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "fields": person.fields.as_dict() if person.fields else {},
    }


def text_for(
    template: Template, optout_text: str | None, person: Contact | Recipient, substitute: bool = False
) -> str:
    """The exact text one person gets: their own message (an imported row's) or the rendered template,
    then the opt-out line; with `substitute`, GSM look-alikes in place of what would force UCS-2."""
    own = getattr(person, "message", None)
    text = priced_text(own if own else template.render(personal_values(person)), optout_text)
    return substituted(text) if substitute else text


def messages_to(
    deployment_id: int, company: int, dispatch: int, people: Iterable[Contact], campaign: int | None = None
) -> Iterator[Recipient]:
    """The recipient rows of a deployment sent by `dispatch` to `people` (one per message, queued): an
    address shared by several people is emailed once."""
    emailed: set[str] = set()
    for person in people:
        for destination in destinations(dispatch, person.msisdn, person.email):
            if destination.channel == EMAIL and not destination.unreachable:
                if destination.key in emailed:
                    continue
                emailed.add(destination.key)
            yield Recipient(
                deployment=deployment_id,
                msisdn=destination.key,
                company=company,
                channel=None if destination.channel == SMS else destination.channel,
                campaign=campaign,
                number=number_in(person.msisdn) if destination.channel == EMAIL else None,
                contact=person.id,
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                fields=person.fields.as_dict() if person.fields else {},
            )


def unreachable(recipient: Recipient) -> bool:
    """A row its channel cannot send: an SMS with no number, an email with no address."""
    return unreachable_reason(recipient.channel, recipient.msisdn, recipient.email) is not None


class QuoteBuilder:
    """Adds up a quote page by page; opt-outs are looked up once per page (when the deployment honours
    them: `rules/optout_policy`)."""

    def __init__(
        self,
        company: int,
        sender: str | None,
        honours_optouts: bool,
        template: Template,
        optout_text: str | None,
        email_credits: int = 1,
        substitute: bool = False,
    ) -> None:
        self.company = company
        self.sender = sender
        self.honours_optouts = honours_optouts
        self.template = template
        self.optout_text = optout_text
        self.substitute = substitute
        self.quote = Quote(email_credits=email_credits)
        self.quote.sample = cost(text_for(template, optout_text, _NOBODY, substitute))
        self._fixed = {s: cost(text_for(template, optout_text, _NOBODY, s)) for s in (False, True)}

    def add(self, page: list[Recipient]) -> set[str]:
        """Count a page; returns the keys on it that are opted out (and will not be sent to)."""
        reachable = [p for p in page if not unreachable(p)]
        blocked = (
            optouts.opted_out(self.company, self.sender, [p.msisdn for p in reachable])
            if self.honours_optouts
            else set()
        )
        self.quote.recipients += len(page) - len(reachable)
        self.quote.unreachable += len(page) - len(reachable)
        for person in reachable:
            email = person.channel == EMAIL
            if person.msisdn in blocked:
                self.quote.opted_out += 1
                self.quote.email_opted_out += email
                continue
            self.quote.recipients += 1
            if email:
                self.quote.emails += 1
                continue
            price = self._price(person, self.substitute)
            self.quote.segments_total += price.segments
            self.quote.segments_if_substituted += self._price(person, True).segments
            if price.encoding == UCS2:
                self.quote.encoding = UCS2
                self.quote.non_gsm_chars.update(price.non_gsm_chars)
        return blocked

    def _price(self, person: Recipient, substitute: bool) -> Cost:
        if not self.template.personal and not getattr(person, "message", None):
            return self._fixed[substitute]
        return cost(text_for(self.template, self.optout_text, person, substitute))


class _Nobody:
    msisdn = ""
    first_name = last_name = email = message = number = None
    fields = None


_NOBODY = _Nobody()


def merged_lists(list_ids: list[int]) -> Iterator[Contact]:
    """Every number on the lists once, in number order; for a number on several lists, the first list's
    contact."""
    for _, found in numbers_across(list_ids):
        yield next(iter(found.values()))


def numbers_across(list_ids: Iterable[int]) -> Iterator[tuple[str, dict[int, Contact]]]:
    """Every number on the lists, in number order, with its contact on each list that has it (in the
    order of `list_ids`). Streams each list in key order and merges them: memory stays a page a list."""
    ordered = heapq.merge(*(_keyed(list_id, order) for order, list_id in enumerate(dict.fromkeys(list_ids))))
    for msisdn, group in groupby(ordered, key=lambda pair: pair[0][0]):
        yield msisdn, {contact.contact_list: contact for _, contact in group}


def _keyed(list_id: int, order: int) -> Iterator[tuple[tuple[str, int], Contact]]:
    for contact in Contact.query(list_id, page_size=1000):
        yield (contact.msisdn, order), contact


def recipients_of(deployment_id: int) -> Iterator[Recipient]:
    return Recipient.query(deployment_id, consistent_read=True, page_size=RECIPIENTS_PAGE)


def pages(people: Iterable[Any], size: int = PAGE) -> Iterator[list[Any]]:
    page: list[Any] = []
    for person in people:
        page.append(person)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
