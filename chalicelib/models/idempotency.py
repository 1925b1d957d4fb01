"""Idempotency keys: one record per company and key, claimed by a conditional write before any work.

A record is `running` (its lease says until when) or `done` (it holds the answer to replay). DynamoDB's
TTL removes it after `expires_at`; until it does (and moto never does), an expired record counts as absent.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.expressions.condition import Condition

from chalicelib.models.base import BaseModel, table_meta

RUNNING, DONE = "running", "done"


class IdempotencyKey(BaseModel):
    Meta = table_meta("idempotency-keys")

    company = NumberAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    fingerprint = UnicodeAttribute()  # a hash of the method, path, query, content type and body
    state = UnicodeAttribute()
    token = UnicodeAttribute()  # the request that holds it now (a takeover writes its own)
    lease_until = NumberAttribute()  # epoch seconds: a running record older than this was abandoned
    expires_at = NumberAttribute()
    ids = MapAttribute(null=True)  # kind → first id, of the ids a resumable route allocated
    status = NumberAttribute(null=True)
    answer = BinaryAttribute(null=True, legacy_encoding=False)  # zlib'd JSON {"body", "headers"}
    answer_file = UnicodeAttribute(null=True)  # where an answer too large for the item was put


def claimable(now: int) -> Condition:
    """Nobody holds the key, or its record expired."""
    return IdempotencyKey.key.does_not_exist() | (IdempotencyKey.expires_at < now)


def abandoned(fingerprint: str, now: int) -> Condition:
    """A running record of the same request whose lease ran out (its request died mid-way)."""
    return (
        (IdempotencyKey.state == RUNNING)
        & (IdempotencyKey.fingerprint == fingerprint)
        & (IdempotencyKey.lease_until < now)
        & (IdempotencyKey.expires_at >= now)
    )


def held_by(token: str) -> Condition:
    return (IdempotencyKey.state == RUNNING) & (IdempotencyKey.token == token)
