"""Faults the tests inject into DynamoDB: transactions cancelled by a conflicting write."""

from __future__ import annotations

from collections.abc import Container

from botocore.exceptions import ClientError

from chalicelib import aws


def conflicts(monkeypatch, calls: Container[int]) -> None:
    """The test's transactions numbered in `calls` (from 1) are cancelled by a conflicting write on
    their last item; backoff sleeps are skipped."""
    from chalicelib.models import base

    monkeypatch.setattr(base.time, "sleep", lambda seconds: None)
    client = aws.client("dynamodb")
    real = client.transact_write_items
    made = {"n": 0}

    def conflicted(**kwargs):
        made["n"] += 1
        if made["n"] in calls:
            reasons = [{"Code": "None"}] * (len(kwargs["TransactItems"]) - 1) + [
                {"Code": "TransactionConflict"}
            ]
            error = {"Code": "TransactionCanceledException", "Message": "conflict"}
            raise ClientError({"Error": error, "CancellationReasons": reasons}, "TransactWriteItems")
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", conflicted)
