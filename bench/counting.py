"""Count the AWS API calls a piece of work makes, by service and operation (boto3 and PynamoDB alike)."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator

from botocore.client import BaseClient


@contextlib.contextmanager
def count_aws_calls() -> Iterator[collections.Counter]:
    """Every botocore call made inside the block, as Counter{"dynamodb.GetItem": n, ...}."""
    calls: collections.Counter = collections.Counter()
    original = BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        calls[f"{self.meta.service_model.endpoint_prefix}.{operation_name}"] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original
