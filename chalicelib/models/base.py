"""The base every model shares: its table, endpoint and credentials come from the settings at call time."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.connection import Connection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.models import dynamodb
from chalicelib.settings import Settings, get_settings

CONFLICT_RETRIES = 8


class _FromSettings:
    """A `Meta` attribute read from the settings each time PynamoDB asks for it."""

    def __init__(self, read: Callable[[Settings], Any]) -> None:
        self._read = read

    def __get__(self, instance: object, owner: type) -> Any:
        return self._read(get_settings())


def _credential(index: int) -> _FromSettings:
    return _FromSettings(lambda s: s.credentials[index] if s.credentials else None)


def table_meta(name: str) -> type:
    """A PynamoDB `Meta` for the table with logical name `name`."""

    class Meta:
        table_name = _FromSettings(lambda s: s.table(name))
        region = _FromSettings(lambda s: s.region)
        host = _FromSettings(lambda s: s.aws_endpoint_url)
        aws_access_key_id = _credential(0)
        aws_secret_access_key = _credential(1)
        max_retry_attempts = 5
        connect_timeout_seconds = 5
        read_timeout_seconds = 30

    return Meta


class BaseModel(Model):
    """Reconnects when the settings change (another stage or endpoint), not only the table name."""

    _connection_settings: Settings | None = None

    @classmethod
    def _get_connection(cls):  # type: ignore[override]
        settings = get_settings()
        if cls._connection_settings != settings:
            cls._connection = None
            cls._connection_settings = settings
        return super()._get_connection()

    @classmethod
    def get_or_none(
        cls,
        hash_key: Any,
        range_key: Any = None,
        consistent_read: bool = False,
        attributes_to_get: list[str] | None = None,
    ) -> Any:
        try:
            return cls.get(
                hash_key, range_key, consistent_read=consistent_read, attributes_to_get=attributes_to_get
            )
        except cls.DoesNotExist:
            return None


def transaction(client_request_token: str | None = None) -> TransactWrite:
    """A DynamoDB write transaction on the settings' endpoint (PynamoDB's default would ignore it)."""
    return TransactWrite(connection=_connection(get_settings()), client_request_token=client_request_token)


@functools.lru_cache(maxsize=8)
def _connection(settings: Settings) -> Connection:
    credentials = settings.credentials or (None, None)
    return Connection(
        region=settings.region,
        host=settings.aws_endpoint_url,
        max_retry_attempts=5,
        aws_access_key_id=credentials[0],
        aws_secret_access_key=credentials[1],
    )


def condition_failed(error: Exception) -> bool:
    """Whether a write (or transaction) failed because a condition did not hold."""
    if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
        return True
    return isinstance(error, dynamodb.ConditionFailed) or any(failed_conditions(error))


def cancellation_reasons(error: Exception) -> list[str | None]:
    """For a cancelled transaction, PynamoDB's or a raw one: each item's reason code (None: none), in the
    order the items were written; empty for any other error. The one reader of both dialects."""
    if isinstance(error, ClientError):
        error = dynamodb.cancelled(error) or error
    if isinstance(error, dynamodb.TransactionCancelled):
        return list(error.reasons)
    return [reason.code if reason is not None else None for reason in _pynamodb_reasons(error)]


def failed_conditions(error: Exception) -> list[bool]:
    """For a cancelled transaction: whether each item's condition failed, in the order written."""
    return [code == dynamodb.CONDITION_FAILED for code in cancellation_reasons(error)]


def conflicted(error: Exception) -> bool:
    """Whether a transaction was cancelled by another transaction on one of its items."""
    return dynamodb.CONFLICT in cancellation_reasons(error)


def _pynamodb_reasons(error: Exception) -> list[Any]:
    return getattr(error, "cancellation_reasons", None) or []


class StillConflicting(Exception):
    """A transaction met concurrent transactions on its items through every retry."""


def transact_write(actions: list[dict[str, Any]], conflict_retries: int = CONFLICT_RETRIES) -> None:
    """TransactWriteItems, retried under jittered backoff while it only meets other transactions on its
    items (TransactionConflict, routine on shared counters); a failed condition is raised at once, as
    `dynamodb.TransactionCancelled`."""
    for attempt in range(conflict_retries + 1):
        try:
            dynamodb.transact(actions)
            return
        except dynamodb.TransactionCancelled as error:
            if not error.conflicted or error.failed:
                raise
        if attempt < conflict_retries:
            back_off(attempt)
    raise StillConflicting(f"still conflicting after {conflict_retries} retries")


def back_off(attempt: int) -> None:
    """Wait before retry `attempt` (from 0) of a write that met others: jittered, doubling, under 2 s."""
    time.sleep(random.uniform(0, min(2.0, 0.02 * 2**attempt)))
