"""Count the AWS API calls a piece of work makes, by service and operation (boto3 and PynamoDB alike).

Inside `recording_units()`, every counting window also estimates what DynamoDB bills for its calls (read
and write request units) and what SQS bills (a request per 64 KiB of payload), for the cost benchmark.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
from collections.abc import Iterator
from typing import Any

from botocore.client import BaseClient

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
SQS_CHUNK_BYTES = 65536

_unit_logs: list[list[collections.Counter]] = []


@contextlib.contextmanager
def count_aws_calls() -> Iterator[collections.Counter]:
    """Every botocore call made inside the block, as Counter{"dynamodb.GetItem": n, ...}."""
    calls: collections.Counter = collections.Counter()
    units: collections.Counter = collections.Counter()
    for log in _unit_logs:
        log.append(units)
    original = BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        service = self.meta.service_model.endpoint_prefix
        calls[f"{service}.{operation_name}"] += 1
        response = original(self, operation_name, api_params)
        if _unit_logs:
            units.update(billed_units(service, operation_name, api_params, response))
        return response

    BaseClient._make_api_call = counted
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


@contextlib.contextmanager
def recording_units() -> Iterator[list[collections.Counter]]:
    """The billed units of each counting window opened inside the block, one Counter per window."""
    log: list[collections.Counter] = []
    _unit_logs.append(log)
    try:
        yield log
    finally:
        _unit_logs.remove(log)


def billed_units(service: str, operation: str, params: dict[str, Any], response: dict[str, Any]) -> dict:
    """What one call is billed as: `dynamodb.read_units`, `dynamodb.write_units` or `sqs.requests`."""
    if service == "sqs":
        return {"sqs.requests": _sqs_requests(operation, params, response)}
    if service != "dynamodb":
        return {}
    reads, writes = _dynamodb_units(operation, params, response)
    return {"dynamodb.read_units": reads, "dynamodb.write_units": writes}


def _sqs_requests(operation: str, params: dict[str, Any], response: dict[str, Any]) -> int:
    """SQS bills each 64 KiB of a request's payload as one request."""
    if operation == "SendMessageBatch":
        size = sum(len(entry.get("MessageBody", "")) for entry in params.get("Entries", []))
    elif operation == "SendMessage":
        size = len(params.get("MessageBody", ""))
    elif operation == "ReceiveMessage":
        size = sum(len(message.get("Body", "")) for message in response.get("Messages", []))
    else:
        size = 0
    return max(1, math.ceil(size / SQS_CHUNK_BYTES))


def _dynamodb_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> tuple[float, int]:
    """(read units, write units) on demand: a write per started KiB of each item (twice in a
    transaction), a read per started 4 KiB (half for an eventually consistent read, twice in a
    transaction); a Query or Scan reads the total size of what it returns."""
    factor = 1.0 if params.get("ConsistentRead") else 0.5
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 0.0, _write_units(params.get("Item") or params.get("Key") or {})
    if operation == "BatchWriteItem":
        unprocessed = sum(len(v) for v in response.get("UnprocessedItems", {}).values())
        requests = [r for table in params.get("RequestItems", {}).values() for r in table]
        written = sum(_write_units(next(iter(r.values())).get("Item", {})) for r in requests)
        return 0.0, max(0, written - unprocessed)
    if operation == "TransactWriteItems":
        actions = params.get("TransactItems", [])
        return 0.0, sum(2 * _write_units(next(iter(a.values())).get("Item", {})) for a in actions)
    if operation == "GetItem":
        return factor * _read_units(response.get("Item") or {}), 0
    if operation == "BatchGetItem":
        found = [item for items in response.get("Responses", {}).values() for item in items]
        asked = sum(len(t.get("Keys", [])) for t in params.get("RequestItems", {}).values())
        return 0.5 * max(asked, sum(_read_units(item) for item in found)), 0
    if operation == "TransactGetItems":
        return 2.0 * len(params.get("TransactItems", [])), 0
    if operation in ("Query", "Scan"):
        size = sum(_size(item) for item in response.get("Items", []))
        return factor * max(1, math.ceil(size / READ_UNIT_BYTES)), 0
    return 0.0, 0


def _write_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(_size(item) / WRITE_UNIT_BYTES))


def _read_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(_size(item) / READ_UNIT_BYTES))


def _size(item: dict[str, Any]) -> int:
    """An item's size, near enough: its attribute names and values as JSON."""
    return len(json.dumps(item, default=str, separators=(",", ":")))
