"""What each route declares about itself: its body, its query parameters and the answers it gives beside
its main one. The OpenAPI document is built from these declarations, and `Call` refuses to read a query
parameter or a body a route did not declare, so the two cannot drift."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.models.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


@dataclass(frozen=True)
class Param:
    """One query parameter: its name, what it does, its type (`str`, `int` or `bool`) and its values."""

    name: str
    description: str
    kind: type = str
    enum: tuple[str, ...] = ()


HTML = "text/html"  # a response that is a page, not JSON

PAGED = (
    Param("cursor", "The `next` of the page before (as it came); leave it out for the first page."),
    Param(
        "page_size",
        f"How many results a page holds, 1 to {MAX_PAGE_SIZE} ({DEFAULT_PAGE_SIZE} unless given).",
        int,
    ),
)


@dataclass(frozen=True)
class Operation:
    """One route: `body` is a `Schema`, a `Many`, an `Upload` or a JSON Schema; `responses` are the other
    success answers (status → shape, None for an empty one); `errors` the error statuses beyond those
    every route of its kind can give."""

    path: str
    methods: tuple[str, ...]
    view: Callable[..., Any]
    public: bool
    status: int
    content_types: tuple[str, ...]
    body: Any = None
    query: tuple[Param, ...] = ()
    responses: Mapping[int, Any] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    summary: str = ""
    idempotent: bool = False  # takes an Idempotency-Key
    resumable: bool = False  # run again with the same ids after a request that died mid-way
    answers_kept: int = 24 * 3600  # seconds an answer is replayed for

    def declares(self, name: str) -> bool:
        return any(param.name == name for param in self.query)


OPERATIONS: list[Operation] = []
