"""The embedded DynamoDB's speed-ups answer exactly what moto (and DynamoDB) would."""

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
