"""A thin JSON helper over chalice.test.Client, so API tests read as requests and answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests import openapi_check
from tests.factories import Member


@dataclass
class Answer:
    status: int
    body: Any  # the parsed JSON, or None for another type of body (then read `text`)
    headers: dict[str, str]
    text: str = ""

    @property
    def error_code(self) -> str | None:
        return self.body["error"]["code"] if isinstance(self.body, dict) and "error" in self.body else None


class Api:
    def __init__(self, client: Any) -> None:
        self._client = client

    def call(
        self,
        method: str,
        path: str,
        as_: Member | None = None,
        json_body: Any = None,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(as_.headers) if as_ else {"Content-Type": "application/json"}
        sent.update(headers or {})
        body = raw if raw is not None else (json.dumps(json_body) if json_body is not None else None)
        response = getattr(self._client.http, method.lower())(path, headers=sent, body=body)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        is_json = "json" in {k.lower(): v for k, v in response.headers.items()}.get("content-type", "json")
        parsed = json.loads(text) if text and is_json else None
        openapi_check.check(method, path, response.status_code, dict(response.headers), text or "", parsed)
        return Answer(
            status=response.status_code, body=parsed, headers=dict(response.headers), text=text or ""
        )

    def get(self, path: str, as_: Member | None = None, **kw: Any) -> Answer:
        return self.call("GET", path, as_, **kw)

    def every_page(self, path: str, as_: Member | None = None) -> list[Any]:
        """Every result of a list (`path` with its query), following `next` page by page."""
        results: list[Any] = []
        cursor = ""
        while cursor is not None:
            joiner = "&" if "?" in path else "?"
            answer = self.get(f"{path}{joiner}cursor={cursor}", as_)
            assert answer.status == 200, answer.body
            results += answer.body["results"]
            cursor = answer.body["next"]
        return results

    def post(self, path: str, as_: Member | None = None, json_body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, as_, json_body, **kw)

    def patch(self, path: str, as_: Member | None = None, json_body: Any = None, **kw: Any) -> Answer:
        return self.call("PATCH", path, as_, json_body, **kw)

    def put(self, path: str, as_: Member | None = None, json_body: Any = None, **kw: Any) -> Answer:
        return self.call("PUT", path, as_, json_body, **kw)

    def delete(self, path: str, as_: Member | None = None, **kw: Any) -> Answer:
        return self.call("DELETE", path, as_, **kw)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type, as a browser or curl -F would send it."""
    boundary = "colony-test-boundary-7MA4YWxkTrZu0gW"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
