"""The cost benchmark's arithmetic: what a counted call is billed as, and dollars from billed units."""

import pytest

from bench import prices
from bench.counting import billed_units


def small(n: int) -> dict:
    return {"pk": {"N": str(n)}, "name": {"S": "x"}}


def test_a_batch_write_is_billed_per_item_and_not_for_what_came_back_unprocessed():
    params = {"RequestItems": {"t": [{"PutRequest": {"Item": small(n)}} for n in range(25)]}}
    response = {"UnprocessedItems": {"t": [{"PutRequest": {"Item": small(0)}}] * 3}}
    assert billed_units("dynamodb", "BatchWriteItem", params, response)["dynamodb.write_units"] == 22


def test_a_transaction_bills_each_action_twice_and_a_large_item_per_started_kib():
    big = {"pk": {"N": "1"}, "text": {"S": "a" * 1500}}
    params = {"TransactItems": [{"Update": {"Key": small(1)}}, {"Put": {"Item": big}}]}
    assert billed_units("dynamodb", "TransactWriteItems", params, {})["dynamodb.write_units"] == 2 + 4


def test_reads_cost_half_unless_strongly_consistent_and_a_query_its_returned_size():
    item = {"Item": small(1)}
    assert billed_units("dynamodb", "GetItem", {}, item)["dynamodb.read_units"] == 0.5
    assert billed_units("dynamodb", "GetItem", {"ConsistentRead": True}, item)["dynamodb.read_units"] == 1
    page = {"Items": [{"pk": {"N": "1"}, "text": {"S": "a" * 1000}}] * 10}
    assert billed_units("dynamodb", "Query", {}, page)["dynamodb.read_units"] == 0.5 * 3
    assert billed_units("dynamodb", "Query", {}, {"Items": []})["dynamodb.read_units"] == 0.5


def test_sqs_bills_every_64_kib_of_a_batch_and_other_services_nothing_here():
    entries = [{"Id": str(n), "MessageBody": "b" * 30_000} for n in range(5)]
    assert billed_units("sqs", "SendMessageBatch", {"Entries": entries}, {}) == {"sqs.requests": 3}
    assert billed_units("sqs", "DeleteMessageBatch", {}, {}) == {"sqs.requests": 1}
    assert billed_units("s3", "GetObject", {}, {}) == {}


def test_dollars_add_up_each_service_at_its_named_price():
    usage = {
        "lambda_gb_seconds": 1000,
        "lambda_invocations": 2_000_000,
        "dynamodb.read_units": 4_000_000,
        "dynamodb.write_units": 2_000_000,
        "sqs.requests": 1_000_000,
        "s3.writes": 1000,
        "s3.reads": 10_000,
        "sns.publishes": 2_000_000,
        "ses.emails": 1000,
    }
    cost = prices.dollars(usage)
    assert cost["lambda"] == pytest.approx(1000 * 0.0000166667 + 0.40, abs=1e-4)
    assert cost["dynamodb"] == pytest.approx(4 * 0.125 + 2 * 0.625)
    assert (cost["sqs"], cost["sns"], cost["ses"]) == (0.4, 1.0, 0.1)
    assert cost["s3"] == pytest.approx(0.005 + 0.004)
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"), abs=1e-3)


def test_s3_calls_are_split_into_the_two_request_tiers():
    calls = {"s3.GetObject": 7, "s3.HeadObject": 1, "s3.PutObject": 2, "s3.CopyObject": 1, "sqs.X": 9}
    assert prices.s3_requests(calls) == {"s3.writes": 3, "s3.reads": 8}
