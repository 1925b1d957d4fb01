"""Safe retries: the first request with an `Idempotency-Key` claims it (a conditional write, before any
work) and its answer is kept for 24 hours; a repeat of the same request replays that answer and does
nothing; the same key for another request is a 422; a repeat while the first still runs is a 409.

A request that died mid-way (no answer kept) leaves its claim running until its lease ends; a repeat may
then take it over and run again with the ids the first one allocated (see `reserved_ids`), so the routes
that send write the same messages and pay once.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chalice.app import handle_extra_types

from chalicelib import storage
from chalicelib.domain import clock
from chalicelib.domain.errors import Busy, Conflict, Unprocessable, error_body
from chalicelib.domain.rules.idempotency_keys import HEADER
from chalicelib.domain.stats.periods import epoch
from chalicelib.log import logger
from chalicelib.models.base import condition_failed
from chalicelib.models.counters import allocate_ids
from chalicelib.models.idempotency import (
    DONE,
    RUNNING,
    IdempotencyKey,
    abandoned,
    claimable,
    held_by,
)

KEPT_SECONDS = 24 * 3600
LEASE_SECONDS = 60  # twice the API function's timeout: a claim older than this lost its request
WAIT_SECONDS = 2.0  # how long a repeat waits for the first to answer before its 409
MAX_ANSWER_BYTES = 300_000  # compressed; a larger answer is kept in the files bucket


@dataclass(frozen=True)
class Policy:
    """How a route keeps its answers: for how long, and whether a repeat of a request that died mid-way
    may run it again (the sends, which reuse its ids) or is told it was interrupted."""

    resumable: bool = False
    kept_seconds: int = KEPT_SECONDS


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Claim:
    company: int
    key: str
    token: str
    resumed: bool  # taken over from a request that died mid-way
    policy: Policy = Policy()
    ids: dict[str, list[int]] = field(default_factory=dict)


_current: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("idempotency_claim", default=None)


def begin(company: int, key: str, fingerprint: str, policy: Policy = Policy()) -> Claim | Replay:
    """Claim `key` for this request, or the answer to replay; 422 for another request, 409 if busy."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        now = epoch(clock.now())
        claim = Claim(company=company, key=key, token=uuid.uuid4().hex, resumed=False, policy=policy)
        record = IdempotencyKey(
            company=company,
            key=key,
            fingerprint=fingerprint,
            state=RUNNING,
            token=claim.token,
            lease_until=now + LEASE_SECONDS,
            expires_at=now + policy.kept_seconds,
        )
        try:
            record.save(condition=claimable(now))
            return claim
        except Exception as error:
            if not condition_failed(error):
                raise
        found = IdempotencyKey.get_or_none(company, key, consistent_read=True)
        if found is None or found.expires_at < now:
            continue
        if found.fingerprint != fingerprint:
            raise Unprocessable(
                f"This {HEADER} was used for a different request (another route or body); "
                "use a new key for a new request.",
                code="idempotency_key_reused",
                fields={HEADER: ["was used for a different request"]},
            )
        if found.state == DONE:
            return _replay(found)
        if found.lease_until < now:
            taken = _take_over(found, fingerprint, now, policy)
            if taken is not None:
                return taken
            continue
        if time.monotonic() >= deadline:
            raise _in_progress()
        time.sleep(0.05)


def _take_over(found: IdempotencyKey, fingerprint: str, now: int, policy: Policy) -> Claim | None:
    """Run a request again whose first try died mid-way, if its route may; else keep a 409 saying so."""
    token = uuid.uuid4().hex
    actions = [
        IdempotencyKey.token.set(token),
        IdempotencyKey.lease_until.set(now + LEASE_SECONDS),
        IdempotencyKey.expires_at.set(now + policy.kept_seconds),
    ]
    interrupted = None if policy.resumable else _interrupted()
    if interrupted is not None:
        actions += _answer_actions(
            found.company,
            token,
            409,
            error_body(interrupted.code, interrupted.message, interrupted.fields),
            {},
        )
    try:
        found.update(actions=actions, condition=abandoned(fingerprint, now))
    except Exception as error:
        if condition_failed(error):
            return None
        raise
    logger.info("idempotency key taken over from a request that died", key=found.key)
    if interrupted is not None:
        raise interrupted
    ids = {
        kind: [int(n) for n in value] for kind, value in (found.ids.as_dict() if found.ids else {}).items()
    }
    return Claim(company=found.company, key=found.key, token=token, resumed=True, policy=policy, ids=ids)


def _interrupted() -> Conflict:
    return Conflict(
        f"The first request with this {HEADER} stopped before it answered, so whether it was done is "
        "not known: look (GET) before repeating it under a new key.",
        code="idempotency_key_interrupted",
    )


def _in_progress() -> Conflict:
    error = Conflict(
        f"A request with this {HEADER} is still being processed; retry in a few seconds.",
        code="idempotency_key_in_use",
    )
    error.retry_after = 2
    return error


@contextlib.contextmanager
def holding(claim: Claim) -> Iterator[None]:
    """Make `claim` the current request's (for `reserved_ids` and `resumed`)."""
    reset = _current.set(claim)
    try:
        yield
    finally:
        _current.reset(reset)


def resumed() -> bool:
    """Whether this request runs again after one with its key died mid-way."""
    claim = _current.get()
    return claim is not None and claim.resumed


def reserved_ids(kind: str, count: int = 1) -> range:
    """`count` new ids of `kind`; under an idempotency key, the same ones each time the request runs."""
    claim = _current.get()
    if claim is None:
        return allocate_ids(kind, count)
    if kind in claim.ids:
        first, kept = claim.ids[kind]
        if kept == count:
            return range(first, first + count)
    ids = allocate_ids(kind, count)
    claim.ids[kind] = [ids.start, count]
    try:
        IdempotencyKey(company=claim.company, key=claim.key).update(
            actions=[IdempotencyKey.ids.set(claim.ids)], condition=held_by(claim.token)
        )
    except Exception as error:
        if condition_failed(error):
            raise Busy("Another request took over this idempotency key; retry it.") from None
        raise
    return ids


def finish(claim: Claim, status: int, body: Any, headers: dict[str, str]) -> None:
    """Keep the answer for repeats. One that may differ on a retry is not kept: a 409, 429 or 503 (nothing
    was done) frees the key; a 5xx (perhaps half done) lets a repeat resume, or say it was interrupted."""
    record = IdempotencyKey(company=claim.company, key=claim.key)
    nothing_done = status in (409, 429, 503)
    try:
        if nothing_done and not claim.policy.resumable:
            record.delete(condition=held_by(claim.token))
            return
        if nothing_done or status >= 500:
            actions = [IdempotencyKey.lease_until.set(0)]  # a repeat takes over at once, with its ids
        else:
            actions = _answer_actions(claim.company, claim.token, status, body, headers)
        record.update(actions=actions, condition=held_by(claim.token))
    except Exception as error:
        if not condition_failed(error):
            raise
        logger.warning("idempotency key was taken over before its answer was kept", key=claim.key)


def _answer_actions(company: int, token: str, status: int, body: Any, headers: dict[str, str]) -> list[Any]:
    """The writes that keep an answer: in the record, or in the files bucket when too large for it."""
    packed = zlib.compress(
        json.dumps({"body": body, "headers": headers}, default=handle_extra_types).encode()
    )
    actions = [IdempotencyKey.state.set(DONE), IdempotencyKey.status.set(status)]
    if len(packed) <= MAX_ANSWER_BYTES:
        return [*actions, IdempotencyKey.answer.set(packed)]
    name = f"idempotency/{company}/{token}.json.z"
    storage.put(name, packed, "application/octet-stream")
    return [*actions, IdempotencyKey.answer_file.set(name)]


def _replay(found: IdempotencyKey) -> Replay:
    packed = found.answer if found.answer is not None else storage.get(found.answer_file or "")
    answer = json.loads(zlib.decompress(packed))
    return Replay(status=int(found.status or 200), body=answer["body"], headers=answer["headers"])
