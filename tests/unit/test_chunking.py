"""Chunks and SQS batches stay within SQS's size limits however long the texts and fields are."""

import json

from chalicelib import queue_messages
from chalicelib.domain.deployments import fanout
from chalicelib.models.deployments import Deployment, Recipient


def test_a_batch_holds_ten_small_messages_or_fewer_large_ones():
    small = [json.dumps({"n": n}) for n in range(25)]
    assert [len(b) for b in queue_messages._batches(small)] == [10, 10, 5]
    large = ["x" * 100_000 for _ in range(5)]
    batches = list(queue_messages._batches(large))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert all(sum(len(e["MessageBody"]) for e in b) <= queue_messages.MAX_BATCH_BYTES for b in batches)


def test_chunks_hold_a_hundred_recipients_or_fewer_long_ones():
    deployment = Deployment(company=1, id=7, message="{{fields.note}}", marketing=True)
    short = [Recipient(deployment=7, msisdn=f"2782{n:07d}", company=1) for n in range(250)]
    assert [len(c.recipients) for c in fanout._chunks(deployment, 1, short)] == [100, 100, 50]
    long = [
        Recipient(
            deployment=7, msisdn=f"2782{n:07d}", company=1, fields={f"f{i}": "x" * 1000 for i in range(20)}
        )
        for n in range(100)
    ]
    chunks = fanout._chunks(deployment, 1, long)
    assert sum(len(c.recipients) for c in chunks) == 100 and len(chunks) > 1
    for chunk in chunks:
        body = json.dumps({"type": chunk.type, **chunk.__dict__})
        assert len(body.encode()) <= queue_messages.MAX_BATCH_BYTES
    assert chunks[0].chunk == "1:27820000000"
