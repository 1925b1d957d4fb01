"""What an email may hold, for API emails and email deployments alike: a subject of one plain line, a
text part, and an HTML part with its active content removed (`nh3`); placeholders rendered into HTML
are escaped."""

from __future__ import annotations

import html as markup
import unicodedata
from collections.abc import Mapping
from typing import Any

import nh3

MAX_SUBJECT = 200
MAX_TEXT = 100_000
MAX_HTML = 200_000
MAX_BYTES = 300_000  # a message item must stay under DynamoDB's 400 KB with its statuses and errors
_BREAKING = {"Cc", "Cs", "Zl", "Zp"}  # controls (tab, CR, LF, \x85 …), surrogates, line/paragraph separators


def sanitised_html(html: str) -> str:
    """HTML with scripts, event handlers and other active content removed (`nh3`)."""
    return nh3.clean(html)


def subject_problem(subject: str) -> str | None:
    """Why `subject` cannot be an email's subject, or None."""
    if not subject:
        return "is required"
    if len(subject) > MAX_SUBJECT or not _one_plain_line(subject):
        return f"must be one line of at most {MAX_SUBJECT} characters, without control characters or =?…?="
    return None


def encodable(text: str) -> bool:
    """Valid Unicode text (no lone surrogate), so it can go out as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def escaped(values: Mapping[str, Any]) -> dict[str, Any]:
    """A person's template values made safe to render into HTML."""
    fields = values.get("fields") or {}
    out = {name: markup.escape(str(value)) for name, value in values.items() if name != "fields" and value}
    out["fields"] = {name: markup.escape(str(value)) for name, value in fields.items()}
    return out


def one_line(text: str) -> str:
    """A rendered subject made one plain header line: line breaks and control characters become spaces,
    and an encoded word's opening (`=?`) is broken up, whatever a person's fields held."""
    plain = "".join(" " if unicodedata.category(c) in _BREAKING else c for c in text)
    return " ".join(plain.replace("=?", "= ?").split())


def _one_plain_line(text: str) -> bool:
    """No line break or control character, and no RFC 2047 encoded word (`=?`), which the MIME
    writer would decode into header lines of its own."""
    return "=?" not in text and not any(unicodedata.category(c) in _BREAKING for c in text)
