"""The embedded DynamoDB's speed-ups answer exactly what moto (and DynamoDB) would."""

import contextlib
import threading

import boto3
import pytest

TABLE = "speedup-rows"


@pytest.fixture
def table(aws):
    client = boto3.client("dynamodb", region_name="af-south-1")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "r", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "g-index",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for partition in ("a", "b", "c"):
        for n in (5, 1, 3, 2, 4):
            item = {"p": {"S": partition}, "r": {"S": f"{n:02d}"}}
            if n % 2:
                item["g"] = {"S": "odd"}
            client.put_item(TableName=TABLE, Item=item)
    return client


def keys(answer):
    return [(item["p"]["S"], item["r"]["S"]) for item in answer["Items"]]


def test_a_table_query_reads_its_partition_in_order(table):
    def query(**extra):
        return table.query(
            TableName=TABLE,
            KeyConditionExpression="p = :p" + extra.pop("range", ""),
            ExpressionAttributeValues={":p": {"S": "b"}, **extra.pop("values", {})},
            **extra,
        )

    assert keys(query()) == [("b", f"{n:02d}") for n in (1, 2, 3, 4, 5)]
    assert keys(query(ScanIndexForward=False)) == [("b", f"{n:02d}") for n in (5, 4, 3, 2, 1)]
    between = query(range=" AND r BETWEEN :low AND :high", values={":low": {"S": "02"}, ":high": {"S": "04"}})
    assert keys(between) == [("b", "02"), ("b", "03"), ("b", "04")]
    first = query(Limit=2)
    assert keys(first) == [("b", "01"), ("b", "02")]
    rest = query(ExclusiveStartKey=first["LastEvaluatedKey"])
    assert keys(rest) == [("b", "03"), ("b", "04"), ("b", "05")]
    missing = table.query(
        TableName=TABLE, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "z"}}
    )
    assert missing["Items"] == []


def test_an_index_query_still_reads_every_partition(table):
    answer = table.query(
        TableName=TABLE,
        IndexName="g-index",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "odd"}},
    )
    assert sorted(keys(answer)) == [(p, f"{n:02d}") for p in "abc" for n in (1, 3, 5)]


def update(table, key, expression, values, names=None):
    extra = {"ExpressionAttributeNames": names} if names else {}
    return table.update_item(
        TableName=TABLE,
        Key={"p": {"S": "a"}, "r": {"S": key}},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
        **extra,
    )["Attributes"]


def test_one_update_expression_applies_its_own_values_each_time(table):
    expression = "SET #n = if_not_exists(#n, :zero) + :step, note = :note"
    names = {"#n": "count"}
    for key, step, note in (("01", 1, "first"), ("01", 5, "again"), ("02", 7, "other")):
        values = {":zero": {"N": "0"}, ":step": {"N": str(step)}, ":note": {"S": note}}
        updated = update(table, key, expression, values, names)
        assert updated["note"] == {"S": note}
    assert update(table, "01", "SET note = :note", {":note": {"S": "x"}})["count"] == {"N": "6"}
    assert update(table, "02", "SET note = :note", {":note": {"S": "x"}})["count"] == {"N": "7"}


def test_a_bad_update_expression_is_refused_every_time(table):
    from botocore.exceptions import ClientError

    for _ in range(2):
        with pytest.raises(ClientError, match="overlap"):
            update(table, "01", "SET note = :a, note = :b", {":a": {"S": "a"}, ":b": {"S": "b"}})
        with pytest.raises(ClientError, match="key"):
            update(table, "01", "SET r = :a", {":a": {"S": "a"}})


def test_each_test_starts_from_the_stack_as_provisioned(provisioned_aws):
    """What one test leaves behind (items, messages, objects, a queue of its own) is gone for the next."""
    from chalicelib import aws
    from chalicelib.settings import get_settings

    settings = get_settings()
    table, queue, bucket = settings.table("counters"), settings.queue("tasks"), settings.bucket
    with provisioned_aws.started():
        dynamodb, sqs, s3 = aws.client("dynamodb"), aws.client("sqs"), aws.client("s3")
        tables, queues = dynamodb.list_tables()["TableNames"], sqs.list_queues()["QueueUrls"]
        dynamodb.put_item(TableName=table, Item={"name": {"S": "left-behind"}, "value": {"N": "1"}})
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], MessageBody="{}")
        s3.put_object(Bucket=bucket, Key="left/behind.csv", Body=b"x")
        sqs.create_queue(QueueName="left-behind")
    with provisioned_aws.started():
        assert dynamodb.scan(TableName=table)["Items"] == []
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
        assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
        assert (dynamodb.list_tables()["TableNames"], sqs.list_queues()["QueueUrls"]) == (tables, queues)


def test_racing_transactions_and_their_rollbacks_lose_no_committed_write(table):
    """Twenty decrements race twenty transactions that fail on a second item: each failure's rollback
    must not put back a copy older than the decrements committed meanwhile (moto's own would)."""
    account = {"p": {"S": "balance"}, "r": {"S": "-"}}
    table.put_item(TableName=TABLE, Item={**account, "n": {"N": "1000"}})
    decrement = {
        "Update": {
            "TableName": TABLE,
            "Key": account,
            "UpdateExpression": "SET n = n - :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    never = {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": {"p": {"S": "a"}, "r": {"S": "01"}},
            "ConditionExpression": "attribute_not_exists(p)",
        }
    }

    def write(items):
        with contextlib.suppress(table.exceptions.TransactionCanceledException):
            table.transact_write_items(TransactItems=items)

    threads = [threading.Thread(target=write, args=([decrement],)) for _ in range(20)]
    threads += [threading.Thread(target=write, args=([decrement, never],)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert table.get_item(TableName=TABLE, Key=account)["Item"]["n"] == {"N": "980"}


def _every_kind_of_answer(dynamodb, sqs, s3) -> None:
    """DynamoDB, SQS and S3 answers of every shape this stack's code reads, an error among them."""
    typed = {
        "p": {"S": "typed"},
        "r": {"S": "01"},
        "b": {"B": b"\x00\xff"},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "ns": {"NS": ["1", "2.5"]},
        "ss": {"SS": ["x", "y"]},
        "m": {"M": {"l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}, {"M": {}}]}}},
    }
    key = {"p": {"S": "typed"}, "r": {"S": "01"}}
    dynamodb.put_item(TableName=TABLE, Item=typed, ReturnConsumedCapacity="TOTAL")
    dynamodb.get_item(TableName=TABLE, Key=key)
    dynamodb.get_item(TableName=TABLE, Key={"p": {"S": "none"}, "r": {"S": "01"}})
    dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="p = :p",
        ExpressionAttributeValues={":p": {"S": "a"}},
        Limit=2,
    )
    dynamodb.scan(TableName=TABLE, Limit=3, ReturnConsumedCapacity="INDEXES")
    dynamodb.update_item(
        TableName=TABLE,
        Key=key,
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "7"}},
        ReturnValues="ALL_NEW",
    )
    dynamodb.batch_get_item(RequestItems={TABLE: {"Keys": [key]}})
    check = {"TableName": TABLE, "Key": key, "ConditionExpression": "attribute_not_exists(p)"}
    with contextlib.suppress(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[{"ConditionCheck": check}])
    dynamodb.describe_table(TableName=TABLE)
    queue = sqs.create_queue(QueueName="speedup-queue")["QueueUrl"]
    attributes = {"k": {"DataType": "String", "StringValue": "v"}}
    sqs.send_message(QueueUrl=queue, MessageBody="one", MessageAttributes=attributes)
    sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], AttributeNames=["All"])
    s3.create_bucket(Bucket="speedup-bucket", CreateBucketConfiguration={"LocationConstraint": "af-south-1"})
    s3.put_object(Bucket="speedup-bucket", Key="a.csv", Body=b"x")
    s3.list_objects_v2(Bucket="speedup-bucket")


def test_answers_are_serialized_exactly_as_moto_serializes_them(table, monkeypatch):
    """The spellings of a dict result's members, derived once a shape, are the ones moto derives each time:
    every answer is serialized by both, from the same result."""
    from moto.core.responses import BaseResponse
    from moto.core.serialize import XFormedAttributePicker

    fast_pick, serialized = XFormedAttributePicker.__call__, BaseResponse.serialized
    pairs = []

    def both(response, result):
        answer = serialized(response, result)
        with monkeypatch.context() as moto_own:
            moto_own.setattr(XFormedAttributePicker, "__call__", fast_pick.__wrapped__)
            own = serialized(response, result)
        pairs.append(((answer[0], answer[2]), (own[0], own[2])))  # the headers gain a request id later
        return answer

    monkeypatch.setattr(BaseResponse, "serialized", both)
    _every_kind_of_answer(table, *(boto3.client(name, region_name="af-south-1") for name in ("sqs", "s3")))
    assert len(pairs) >= 12
    assert [fast for fast, _ in pairs] == [own for _, own in pairs]
