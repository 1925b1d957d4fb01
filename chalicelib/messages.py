"""Typed queue messages: each queue's consumer declares its shapes here, and producers send only these."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote_plus

from chalicelib import aws
from chalicelib.settings import get_settings


class InvalidMessage(ValueError):
    """A body that is none of the queue's message shapes: a poison message, not a retryable failure."""


@dataclass(frozen=True)
class ContinueImport:
    """Carry on an import from its saved resume point (sent by the import worker to itself)."""

    queue: ClassVar[str] = "imports"
    type: ClassVar[str] = "import.continue"
    company: int
    import_id: int


@dataclass(frozen=True)
class UploadedObject:
    """An S3 "object created" notification for an upload (the imports queue receives these from S3)."""

    bucket: str
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class RunTask:
    queue: ClassVar[str] = "tasks"
    type: ClassVar[str] = "task.run"
    company: int
    task_id: int


_TYPES = {cls.type: cls for cls in (ContinueImport, RunTask)}


def enqueue(message: ContinueImport | RunTask) -> None:
    body = {"type": message.type, **dataclasses.asdict(message)}
    aws.client("sqs").send_message(
        QueueUrl=_queue_url(get_settings().queue(message.queue)), MessageBody=json.dumps(body)
    )


@functools.lru_cache(maxsize=16)
def _queue_url(name: str) -> str:
    return aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def parse(body: str, queue: str) -> list[Any]:
    """The messages in one SQS body for `queue`: ours, or S3's notifications (an `s3:TestEvent` is none)."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise InvalidMessage(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidMessage("not a JSON object")
    if data.get("Event") == "s3:TestEvent":
        return []
    if "Records" in data and queue == "imports":
        return [_uploaded(record) for record in data["Records"]]
    kind = _TYPES.get(data.get("type"))
    if kind is None or kind.queue != queue:
        raise InvalidMessage(f"no message type {data.get('type')!r} on the {queue} queue")
    fields = {f.name: data.get(f.name) for f in dataclasses.fields(kind)}
    if set(data) - {"type"} != set(fields) or not all(isinstance(v, int) for v in fields.values()):
        raise InvalidMessage(f"{kind.type} needs exactly the integer fields {', '.join(fields)}")
    return [kind(**fields)]


def _uploaded(record: Any) -> UploadedObject:
    try:
        s3 = record["s3"]
        return UploadedObject(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(s3["object"]["key"]),
            etag=s3["object"]["eTag"].strip('"'),
            size=int(s3["object"]["size"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidMessage(f"not an S3 notification record: {error}") from None
