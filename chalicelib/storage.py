"""The files bucket: uploads, the filebox and workers' saved state. Streams; never reads a file whole."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.settings import get_settings

CHUNK_BYTES = 1 << 20
_PART_BYTES = 8 << 20
DOWNLOAD_SECONDS = 900
UPLOAD_FORM_SECONDS = 3600


class ObjectChanged(Exception):
    """The object is not the one an import started on (replaced, or gone)."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str


def put(key: str, body: bytes, content_type: str = "text/csv") -> None:
    aws.client("s3").put_object(Bucket=get_settings().bucket, Key=key, Body=body, ContentType=content_type)


def get(key: str) -> bytes:
    return aws.client("s3").get_object(Bucket=get_settings().bucket, Key=key)["Body"].read()


def info(key: str) -> ObjectInfo | None:
    try:
        head = aws.client("s3").head_object(Bucket=get_settings().bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return ObjectInfo(size=head["ContentLength"], etag=head["ETag"].strip('"'))


def read_from(key: str, start: int, etag: str, end: int | None = None) -> Iterator[bytes]:
    """The object's bytes from `start` (to `end`, exclusive) in chunks, failing if it is not `etag`."""
    byte_range = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
    try:
        body = aws.client("s3").get_object(
            Bucket=get_settings().bucket, Key=key, Range=byte_range, IfMatch=f'"{etag}"'
        )["Body"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("PreconditionFailed", "NoSuchKey", "412"):
            raise ObjectChanged(key) from error
        raise
    yield from body.iter_chunks(CHUNK_BYTES)


def delete(keys: Iterable[str]) -> None:
    keys = list(keys)
    for start in range(0, len(keys), 1000):
        aws.client("s3").delete_objects(
            Bucket=get_settings().bucket,
            Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
        )


def delete_prefix(prefix: str) -> None:
    """Delete every object under `prefix` (a worker's saved state once its job is done)."""
    delete(list(keys_under(prefix)))


def keys_under(prefix: str) -> Iterator[str]:
    """The key of every object under `prefix`."""
    pages = (
        aws.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=get_settings().bucket, Prefix=prefix)
    )
    for page in pages:
        yield from (item["Key"] for item in page.get("Contents", []))


def chunks(key: str) -> Iterator[bytes]:
    """The whole object in chunks (nothing if it is gone)."""
    try:
        body = aws.client("s3").get_object(Bucket=get_settings().bucket, Key=key)["Body"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return
        raise
    yield from body.iter_chunks(CHUNK_BYTES)


def tag(key: str, tags: dict[str, str]) -> None:
    """Set the object's tags (what the bucket's lifecycle rules select on)."""
    aws.client("s3").put_object_tagging(
        Bucket=get_settings().bucket,
        Key=key,
        Tagging={"TagSet": [{"Key": name, "Value": value} for name, value in tags.items()]},
    )


def concatenate(key: str, head: bytes, parts: list[str], content_type: str = "text/csv") -> int:
    """Write `head` then every part object into `key`, streaming (multipart when large); returns its size."""
    writer = StreamingWriter(key, content_type)
    writer.write(head)
    for part in parts:
        for chunk in (
            aws.client("s3")
            .get_object(Bucket=get_settings().bucket, Key=part)["Body"]
            .iter_chunks(CHUNK_BYTES)
        ):
            writer.write(chunk)
    return writer.close()


class StreamingWriter:
    """An S3 object written in pieces: one PUT if it stays small, a multipart upload if it grows."""

    def __init__(self, key: str, content_type: str = "text/csv") -> None:
        self.key = key
        self.content_type = content_type
        self._buffer = io.BytesIO()
        self._upload_id: str | None = None
        self._parts: list[dict] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self._buffer.write(data)
        self.size += len(data)
        if self._buffer.tell() >= _PART_BYTES:
            self._send_part()

    def close(self) -> int:
        s3, bucket = aws.client("s3"), get_settings().bucket
        if self._upload_id is None:
            s3.put_object(
                Bucket=bucket, Key=self.key, Body=self._buffer.getvalue(), ContentType=self.content_type
            )
            return self.size
        if self._buffer.tell():
            self._send_part()
        s3.complete_multipart_upload(
            Bucket=bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )
        return self.size

    def _send_part(self) -> None:
        s3, bucket = aws.client("s3"), get_settings().bucket
        if self._upload_id is None:
            self._upload_id = s3.create_multipart_upload(
                Bucket=bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        number = len(self._parts) + 1
        answer = s3.upload_part(
            Bucket=bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=self._buffer.getvalue(),
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self._buffer = io.BytesIO()


def presigned_post(key: str, max_bytes: int, expires: int = UPLOAD_FORM_SECONDS) -> dict:
    """A form upload of exactly `key` (the upload itself starts the work it names)."""
    return aws.client("s3").generate_presigned_post(
        Bucket=get_settings().bucket,
        Key=key,
        Conditions=[["content-length-range", 1, max_bytes]],
        ExpiresIn=expires,
    )


def download_url(key: str, filename: str) -> str:
    """A link valid for 15 minutes that downloads the object under `filename`."""
    return aws.client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": get_settings().bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        },
        ExpiresIn=DOWNLOAD_SECONDS,
    )
