"""Request bodies: which fields an object may have, of which types; every problem is named by field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.rules.email_content import encodable

_KIND_NAMES = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


@dataclass(frozen=True)
class Field:
    """`kind` is one type or several (a phone number may come as text or as a JSON number)."""

    kind: type | tuple[type, ...]
    required: bool = False
    nullable: bool = False
    max_length: int | None = None
    items: type | None = None  # what a list holds, as the API reference says it
    choices: tuple[Any, ...] = ()  # the values the domain takes, as the API reference says them
    description: str = ""

    def problem(self, value: Any) -> str | None:
        if value is None:
            return None if self.nullable else "must not be null"
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if not any(_is_kind(value, kind) for kind in kinds):
            return f"must be {_KIND_NAMES[kinds[0]]}"
        if self.max_length is not None and isinstance(value, (str, list)) and len(value) > self.max_length:
            unit = "characters" if self.kind is str else "items"
            return f"must be at most {self.max_length} {unit}"
        if isinstance(value, str) and not encodable(value):
            return "must be valid Unicode text (it holds a lone surrogate)"
        if isinstance(value, str) and "\x00" in value:
            return "must not hold a NUL character"
        return None


@dataclass(frozen=True)
class Many:
    """A JSON array of 1 to `max_items` objects of `schema`; with `one`, a single object too."""

    schema: Schema
    max_items: int
    one: bool = False


@dataclass(frozen=True)
class Upload:
    """A multipart form: the CSV as the file field `file`, and these text fields (name → meaning);
    `kind` is what POST /uploads calls such a file, for one too large to post."""

    fields: dict[str, str]
    kind: str


def _is_kind(value: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


@dataclass(frozen=True)
class Schema:
    """The writable fields of one object, and the server-owned ones a client may not send."""

    fields: dict[str, Field]
    read_only: Iterable[str] = ()
    may_be_empty: bool = False  # an empty body is the same as `{}`

    def parse(
        self,
        body: Any,
        *,
        partial: bool = False,
        current: dict[str, Any] | None = None,
        textual: bool = False,
    ) -> dict[str, Any]:
        """The fields of `body` that are present, checked; `partial` (PATCH) makes none required. With
        `current` (the object as GET renders it), a field the client may not write but sent back
        unchanged is dropped, as a DRF client sends back what it read; a changed one is a 400. A
        `textual` body (a form) has its text read as each field's kind (`true`/`on`/`1`, digits, a
        list as repeated names or a JSON array)."""
        if not isinstance(body, dict):
            raise InvalidInput("The body must be a JSON object.", code="invalid_body")
        problems: dict[str, list[str]] = {}
        body = dict(body)
        for name, value in list(body.items()):
            field = self.fields.get(name)
            if textual and field is not None:
                value = body[name] = _from_text(field, value)
            if (
                field is None
                and current is not None
                and name in current
                and _same(current[name], value, textual)
            ):
                del body[name]
            elif field is None:
                known = name in self.read_only or (current is not None and name in current)
                problems[name] = ["is read-only" if known else "is not a field of this object"]
            elif (problem := field.problem(_as_id(field, value))) is not None:
                problems[name] = [problem]
            else:
                body[name] = _as_id(field, value)
        if not partial:
            for name, field in self.fields.items():
                if field.required and name not in body:
                    problems[name] = ["is required"]
        if problems:
            raise InvalidInput(_summary(problems), fields=problems)
        return body


_TRUE, _FALSE = ("true", "1", "on", "yes"), ("false", "0", "off", "no")


def _from_text(field: Field, value: Any) -> Any:
    """A form's text as the field's kind; what cannot be read so is left for the kind check to refuse."""
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    if value == "" and field.nullable:  # as DRF reads an empty form value of a nullable field
        return None
    if isinstance(value, list) or str in kinds:
        return [value] if list in kinds and not isinstance(value, list) else value
    if bool in kinds and value.lower() in (*_TRUE, *_FALSE):
        return value.lower() in _TRUE
    if (list in kinds and value.startswith("[")) or (dict in kinds and value.startswith("{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if list in kinds:
        return [value]
    return value


def _same(stored: Any, sent: Any, textual: bool) -> bool:
    """Whether a read-only field came back as it was read (from a form, as its text)."""
    if stored == sent:
        return True
    if not textual or not isinstance(sent, str):
        return False
    if isinstance(stored, bool):
        return sent.lower() in (_TRUE if stored else _FALSE)
    if stored is None:
        return sent == ""
    return not isinstance(stored, (list, dict)) and str(stored) == sent


def _as_id(field: Field, value: Any) -> Any:
    """An integer given as its digits (`"1"`, as DRF reads it) where an integer is expected."""
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    if int in kinds and str not in kinds and isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value) if len(value) <= 18 else value
    if field.kind is list and isinstance(value, list):
        return [
            int(v) if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 18 else v
            for v in value
        ]
    return value


def _summary(problems: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {reasons[0]}" for name, reasons in problems.items())
