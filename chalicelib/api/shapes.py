"""The building blocks of response shapes: each render function returns a TypedDict, which the OpenAPI
document describes (through pydantic) and the tests hold every answer to."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import WithJsonSchema
from typing_extensions import TypedDict

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Item = TypeVar("Item")


class NonGsmBody(TypedDict):
    """A character outside the GSM alphabet (which makes a message UCS-2), and where it stands."""

    char: str
    position: int


class Page(TypedDict, Generic[Item]):
    """One page of a list: follow `next` (a URL-safe cursor, null on the last page) for the rest."""

    results: list[Item]
    next: str | None
