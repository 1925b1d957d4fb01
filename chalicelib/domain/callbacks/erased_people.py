"""Callback events about a person erased after the event was queued: redacted (the person's token in
place of their number or address) before the worker records or POSTs them."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib import queue_messages
from chalicelib.domain.privacy.person import Person, person_of
from chalicelib.domain.rules.addresses import address_key
from chalicelib.domain.rules.channels import EMAIL, SMS
from chalicelib.domain.rules.person_spellings import is_erased
from chalicelib.models.erasures import redacted_document, tombstones

NAMING = ("msisdn", "email", "recipient")  # where an event's payload names its person


def people_named(company: int, event: dict[str, Any]) -> list[Person]:
    """Everyone an event's payload names (as a number or an address), once each."""
    data = event.get("data") if isinstance(event.get("data"), dict) else event
    people: dict[str, Person] = {}
    for name in NAMING:
        value = data.get(name)
        if not isinstance(value, str) or not value or is_erased(value):
            continue
        channel, key = (EMAIL, address_key(value)) if "@" in value else (SMS, value)
        people.setdefault(key, person_of(company, channel, key))
    return list(people.values())


def without_erased(messages: list[queue_messages.CallbackEvent]) -> list[queue_messages.CallbackEvent]:
    """The batch's events, each about an erased person redacted: one BatchGetItem for the whole batch
    (at most 100 tokens: a batch of 10 events names at most 30 people)."""
    named = {id(m): people_named(m.company, m.event) for m in messages if not m.replay}
    erased = tombstones([(m.company, p.token) for m in messages for p in named.get(id(m), [])])
    changed = []
    for message in messages:
        event = message.event
        for person in named.get(id(message), []):
            if (message.company, person.token) in erased:
                event = redacted_document(event, person.redact)
        changed.append(message if event is message.event else dataclasses.replace(message, event=event))
    return changed
