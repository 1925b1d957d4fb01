"""Typed queue messages: each queue's consumer declares its shapes here, and producers send only these."""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Iterator
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


@dataclass(frozen=True)
class FanOut:
    """Turn the next page of a deployment's queued recipients (after `after`) into SendChunks."""

    queue: ClassVar[str] = "send"
    type: ClassVar[str] = "send.fan_out"
    company: int
    deployment: int
    round: int
    after: str


@dataclass(frozen=True)
class SendChunk:
    """About a hundred recipients of one deployment, with everything needed to render their texts."""

    queue: ClassVar[str] = "send"
    type: ClassVar[str] = "send.chunk"
    company: int
    deployment: int
    round: int
    chunk: str
    marketing: bool
    sender: str
    message: str
    optout_text: str
    recipients: list[dict]
    subject: str = ""  # an email's, as approved (with `message` its text part and `html`)
    html: str = ""
    email_credits: int = 1  # what each email costs, frozen at approval
    honours_optouts: bool | None = None  # None (a chunk of an earlier release): as `marketing`
    gsm_substitute: bool = False


@dataclass(frozen=True)
class SendMessages:
    """API messages (`POST /messages/send` and `/bulk`) to send, by id."""

    queue: ClassVar[str] = "send"
    type: ClassVar[str] = "send.messages"
    company: int
    ids: list[int]


@dataclass(frozen=True)
class SimulatedEvent:
    """A gateway event the simulator scripted for a test tenant's message, for the pipeline that gateway's
    events take: `sms-events`, `email-events` (each `message` as its topic carries it) or `sms-inbound`
    (a reply, received by `company`)."""

    queue: ClassVar[str] = "send"
    type: ClassVar[str] = "send.simulated"
    company: int
    source: str
    message: str


@dataclass(frozen=True)
class CallbackEvent:
    """One event for a company's callback URL (`event` is the body it receives); `replay` names the
    attempt record a `POST /callbacks/{id}/retry` sends again."""

    queue: ClassVar[str] = "callbacks"
    type: ClassVar[str] = "callback.event"
    company: int
    event: dict
    replay: int = 0


Message = ContinueImport | RunTask | FanOut | SendChunk | SendMessages | SimulatedEvent | CallbackEvent
_TYPES = {
    cls.type: cls
    for cls in (ContinueImport, RunTask, FanOut, SendChunk, SendMessages, SimulatedEvent, CallbackEvent)
}
_BATCH = 10
MAX_BATCH_BYTES = 250_000  # SQS takes 256 KiB a message and a batch (attributes and ids included)


def enqueue(message: Message, delay_seconds: int = 0) -> None:
    enqueue_many([message], delay_seconds)


def enqueue_many(messages: list[Message], delay_seconds: int = 0) -> None:
    """Send messages of one queue, ten to a SendMessageBatch (fewer when ten would not fit in one)."""
    if not messages:
        return
    url = _queue_url(get_settings().queue(messages[0].queue))
    sqs = aws.client("sqs")
    for entries in _batches([json.dumps({"type": m.type, **dataclasses.asdict(m)}) for m in messages]):
        for i, entry in enumerate(entries):
            entry.update(Id=str(i), DelaySeconds=delay_seconds)
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} messages: {failed[0].get('Message')}")


def _batches(bodies: list[str]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        assert length <= MAX_BATCH_BYTES, f"a message of {length} bytes is too large for SQS"
        if batch and (len(batch) == _BATCH or size + length > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append({"MessageBody": body})
        size += length
    if batch:
        yield batch


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
    hints = typing.get_type_hints(kind)
    fields = {f.name: data.get(f.name) for f in dataclasses.fields(kind)}
    if set(data) - {"type"} != set(fields) or not all(
        _is(value, hints[name]) for name, value in fields.items()
    ):
        shape = ", ".join(f"{name}: {getattr(hints[name], '__name__', hints[name])}" for name in fields)
        raise InvalidMessage(f"{kind.type} needs exactly the fields {shape}")
    return [kind(**fields)]


def _is(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_is(v, item) for v in value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


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
