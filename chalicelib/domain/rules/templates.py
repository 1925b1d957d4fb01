"""Personalised messages: `{{first_name}}`, `{{last_name}}`, `{{email}}`, `{{msisdn}}`, `{{fields.city}}`.

A placeholder Colony does not know is an error naming it; a known one with no value renders empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.domain.errors import InvalidInput

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAMES = ("first_name", "last_name", "email", "msisdn")
_FIELD = re.compile(r"fields\.([a-z0-9_]{1,64})")


def priced_text(message: str, optout_text: str | None) -> str:
    """The text that is sent and charged for: the message, then the opt-out line when one is added.
    Quotes, approvals, the sender and settlement all price this text, so a quote is what is charged."""
    return f"{message}\n{optout_text}" if optout_text else message


@dataclass(frozen=True)
class Template:
    """A message split once into text and placeholders, so rendering it per recipient is a join."""

    parts: tuple[str, ...]
    names: tuple[str | None, ...]

    @property
    def personal(self) -> bool:
        return any(self.names)

    def render(self, recipient: Mapping[str, object]) -> str:
        if not self.personal:
            return self.parts[0]
        fields = recipient.get("fields") or {}
        out = []
        for text, name in zip(self.parts, self.names, strict=True):
            out.append(text)
            if name is not None:
                value = fields.get(name[7:]) if name.startswith("fields.") else recipient.get(name)
                out.append("" if value is None else str(value))
        return "".join(out)


def compile_template(message: str, field: str = "message") -> Template:
    """Split `message`; every placeholder must be one Colony knows (a 400 names the first that is not)."""
    parts, names, position = [], [], 0
    unknown = []
    for match in _PLACEHOLDER.finditer(message):
        name = match.group(1).strip()
        if name not in _NAMES and not _FIELD.fullmatch(name):
            unknown.append(match.group(0))
            continue
        parts.append(message[position : match.start()])
        names.append(name)
        position = match.end()
    if unknown:
        known = ", ".join("{{" + n + "}}" for n in _NAMES)
        raise InvalidInput(
            f"{field}: unknown placeholder {unknown[0]} (use {known} or {{{{fields.<name>}}}})",
            code="unknown_placeholder",
            fields={field: [f"unknown placeholder {u}" for u in unknown]},
        )
    parts.append(message[position:])
    names.append(None)
    return Template(tuple(parts), tuple(names))
