"""A deployment's audience: its lists merged and deduplicated by number, read a page at a time, and
what it costs to send the message to it (the quote)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from chalicelib.domain.contacts import optouts
from chalicelib.domain.rules.segments import GSM7, UCS2, cost
from chalicelib.domain.rules.templates import Template, priced_text
from chalicelib.models.contacts import Contact
from chalicelib.models.deployments import Recipient

PAGE = 100
MAX_NON_GSM_SHOWN = 50


@dataclass
class Quote:
    recipients: int = 0
    opted_out: int = 0
    segments_total: int = 0
    encoding: str = GSM7
    non_gsm_chars: set[str] = field(default_factory=set)

    @property
    def credits(self) -> int:
        return self.segments_total

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipients": self.recipients,
            "opted_out": self.opted_out,
            "segments_total": self.segments_total,
            "credits": self.credits,
            "encoding": self.encoding,
            "non_gsm_chars": sorted(self.non_gsm_chars)[:MAX_NON_GSM_SHOWN],
        }


def personal_values(person: Contact | Recipient) -> dict[str, Any]:
    """What a template reads from a contact or a recipient."""
    return {
        "msisdn": person.msisdn,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "fields": person.fields.as_dict() if person.fields else {},
    }


def text_for(template: Template, optout_text: str | None, person: Contact | Recipient) -> str:
    """The exact text one person gets: their own message (an imported row's) or the rendered template,
    then the opt-out line."""
    own = getattr(person, "message", None)
    return priced_text(own if own else template.render(personal_values(person)), optout_text)


class QuoteBuilder:
    """Adds up a quote page by page; opt-outs are looked up once per page (marketing only)."""

    def __init__(
        self, company: int, sender: str | None, marketing: bool, template: Template, optout_text: str | None
    ) -> None:
        self.company = company
        self.sender = sender
        self.marketing = marketing
        self.template = template
        self.optout_text = optout_text
        self.quote = Quote()
        self._fixed = None if template.personal else cost(text_for(template, optout_text, _NOBODY))

    def add(self, page: list[Contact | Recipient]) -> set[str]:
        """Count a page; returns the numbers on it that are opted out (and will not be sent to)."""
        blocked = (
            optouts.opted_out(self.company, self.sender, [p.msisdn for p in page])
            if self.marketing
            else set()
        )
        for person in page:
            if person.msisdn in blocked:
                self.quote.opted_out += 1
                continue
            price = (
                self._fixed
                if self._fixed is not None and not getattr(person, "message", None)
                else cost(text_for(self.template, self.optout_text, person))
            )
            self.quote.recipients += 1
            self.quote.segments_total += price.segments
            if price.encoding == UCS2:
                self.quote.encoding = UCS2
                self.quote.non_gsm_chars.update(price.non_gsm_chars)
        return blocked


class _Nobody:
    msisdn = ""
    first_name = last_name = email = message = None
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
    return Recipient.query(deployment_id, consistent_read=True, page_size=1000)


def pages(people: Iterable[Any], size: int = PAGE) -> Iterator[list[Any]]:
    page: list[Any] = []
    for person in people:
        page.append(person)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
