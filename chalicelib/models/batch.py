"""DynamoDB batch reads and writes of raw items, with unprocessed items retried under backoff."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from chalicelib import aws

WRITE_BATCH = 25
READ_BATCH = 100
_ATTEMPTS = 8


class BatchIncomplete(Exception):
    """DynamoDB kept some items unprocessed through every retry (sustained throttling)."""


def write_items(table: str, items: Sequence[dict[str, Any]]) -> None:
    """Put `items` in batches of 25."""
    _write(table, [{"PutRequest": {"Item": item}} for item in items])


def delete_keys(table: str, keys: Sequence[dict[str, Any]]) -> None:
    _write(table, [{"DeleteRequest": {"Key": key}} for key in keys])


def get_items(
    table: str, keys: Sequence[dict[str, Any]], projection: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The items that exist among `keys` (in no particular order), 100 keys a request."""
    client = aws.client("dynamodb")
    # DynamoDB refuses a projection that names one path twice ("all" for every sender, asked twice)
    names = {f"#a{i}": name for i, name in enumerate(dict.fromkeys(projection))}
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), READ_BATCH):
        request: dict[str, Any] = {"Keys": list(keys[start : start + READ_BATCH]), "ConsistentRead": True}
        if names:
            request["ProjectionExpression"] = ", ".join(names)
            request["ExpressionAttributeNames"] = names
        pending = {table: request}
        for attempt in range(_ATTEMPTS):
            answer = client.batch_get_item(RequestItems=pending)
            found.extend(answer["Responses"].get(table, []))
            pending = answer.get("UnprocessedKeys") or {}
            if not pending:
                break
            _back_off(attempt)
        else:
            raise BatchIncomplete(f"{table}: keys still unprocessed after {_ATTEMPTS} attempts")
    return found


def get_across(keys: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """{table: the items that exist among its keys} for a few keys of several tables (100 in all), read
    in one BatchGetItem as GetItem reads (eventually consistent)."""
    client = aws.client("dynamodb")
    pending: dict[str, Any] = {table: {"Keys": table_keys} for table, table_keys in keys.items()}
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in keys}
    for attempt in range(_ATTEMPTS):
        answer = client.batch_get_item(RequestItems=pending)
        for table, items in answer["Responses"].items():
            found[table].extend(items)
        pending = answer.get("UnprocessedKeys") or {}
        if not pending:
            return found
        _back_off(attempt)
    raise BatchIncomplete(f"{', '.join(pending)}: keys still unprocessed after {_ATTEMPTS} attempts")


def _write(table: str, requests: list[dict[str, Any]]) -> None:
    client = aws.client("dynamodb")
    for start in range(0, len(requests), WRITE_BATCH):
        pending = {table: requests[start : start + WRITE_BATCH]}
        for attempt in range(_ATTEMPTS):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            _back_off(attempt)
        else:
            raise BatchIncomplete(f"{table}: items still unprocessed after {_ATTEMPTS} attempts")


def _back_off(attempt: int) -> None:
    time.sleep(min(2.0, 0.05 * 2**attempt))


class ConcurrentWriter:
    """Puts batches of 25 on a few threads while the caller goes on reading; `wait` before relying on them.

    DynamoDB answers each BatchWriteItem in milliseconds, so one writer at a time leaves the importer
    idle most of the time. At most `in_flight` batches are outstanding, which bounds memory.
    """

    def __init__(self, table: str, threads: int = 4, in_flight: int = 32) -> None:
        self.table = table
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dynamodb-writer")
        self._futures: list[Future] = []
        self._in_flight = in_flight

    def submit(self, items: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(items), WRITE_BATCH):
            while len(self._futures) >= self._in_flight:
                self._futures.pop(0).result()
            self._futures.append(
                self._pool.submit(write_items, self.table, items[start : start + WRITE_BATCH])
            )

    def wait(self) -> None:
        """Every submitted item is stored (or the first failure is raised)."""
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
