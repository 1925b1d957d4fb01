"""Raw DynamoDB, for the writes PynamoDB cannot express (the sender's and the receipts' low-level
transaction items, counters guarded by versions): every call goes through the one client factory, and
DynamoDB's refusals come back as exceptions that say what failed, so the domain never reads botocore."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws

CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"


class TransactionCancelled(Exception):
    """DynamoDB cancelled a transaction; `reasons` holds each item's reason code (None: none), in the
    order the items were written."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    @property
    def failed(self) -> set[int]:
        """The positions of the items whose condition did not hold."""
        return {i for i, code in enumerate(self.reasons) if code == CONDITION_FAILED}

    @property
    def conflicted(self) -> bool:
        """Whether another transaction met one of its items (routine on shared counters: retry)."""
        return CONFLICT in self.reasons


class ConditionFailed(Exception):
    """A single write whose condition did not hold; `item` is what it found, when that was asked for."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the condition did not hold")
        self.item = item


def transact(actions: list[dict[str, Any]]) -> None:
    """One TransactWriteItems of low-level items; a cancellation raises TransactionCancelled."""
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=actions)
    except ClientError as error:
        reason = cancelled(error)
        if reason is None:
            raise
        raise reason from error


def cancelled(error: ClientError) -> TransactionCancelled | None:
    """The TransactionCancelled a botocore error stands for, or None if it is no cancellation."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return TransactionCancelled([r.get("Code") for r in error.response.get("CancellationReasons") or []])


def update(**params: Any) -> dict[str, Any]:
    """One UpdateItem; a failed condition raises ConditionFailed (with the item, if asked for)."""
    try:
        return aws.client("dynamodb").update_item(**params)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        raise ConditionFailed(error.response.get("Item")) from error


def get(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """One item, read consistently, or None."""
    return aws.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def query(**request: Any) -> dict[str, Any]:
    return aws.client("dynamodb").query(**request)


def query_items(**request: Any) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, as DynamoDB holds it, page after page."""
    request = dict(request)
    while True:
        answer = query(**request)
        yield from answer["Items"]
        if "LastEvaluatedKey" not in answer:
            return
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def delete(table: str, key: dict[str, Any]) -> None:
    aws.client("dynamodb").delete_item(TableName=table, Key=key)
