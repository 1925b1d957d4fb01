"""DynamoDB's refusals, as the domain sees them: which items of a cancelled transaction failed their
condition, the same answer for raw and PynamoDB transactions."""

import pytest
from pynamodb.exceptions import TransactWriteError

from chalicelib.models import dynamodb
from chalicelib.models.base import condition_failed, conflicted, failed_conditions, transaction
from chalicelib.models.counters import Counter
from chalicelib.settings import get_settings


def counter_update(name, expected):
    return {
        "Update": {
            "TableName": get_settings().table("counters"),
            "Key": {"name": {"S": name}},
            "UpdateExpression": "SET #value = :next",
            "ConditionExpression": "attribute_not_exists(#value) OR #value = :expected",
            "ExpressionAttributeNames": {"#value": "value"},
            "ExpressionAttributeValues": {
                ":next": {"N": str(expected + 1)},
                ":expected": {"N": str(expected)},
            },
        }
    }


def test_a_raw_transaction_names_the_items_whose_condition_failed(aws):
    dynamodb.transact([counter_update("a", 0), counter_update("b", 0)])
    with pytest.raises(dynamodb.TransactionCancelled) as refused:
        dynamodb.transact([counter_update("a", 1), counter_update("b", 5)])
    assert refused.value.failed == {1} and not refused.value.conflicted
    assert failed_conditions(refused.value) == [False, True] and condition_failed(refused.value)
    assert Counter.get("a").value == 1  # nothing of a cancelled transaction was written


def test_a_pynamodb_transaction_answers_the_same(aws):
    Counter(name="a", value=1).save()
    with pytest.raises(TransactWriteError) as refused, transaction() as write:
        write.update(Counter(name="b"), actions=[Counter.value.set(1)])
        write.update(Counter(name="a"), actions=[Counter.value.set(9)], condition=Counter.value == 2)
    assert failed_conditions(refused.value) == [False, True] and condition_failed(refused.value)


def test_a_single_update_whose_condition_fails_returns_what_it_found(aws):
    dynamodb.transact([counter_update("a", 0)])
    params = counter_update("a", 7)["Update"]
    with pytest.raises(dynamodb.ConditionFailed) as refused:
        dynamodb.update(**params, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert refused.value.item["value"] == {"N": "1"} and condition_failed(refused.value)


def test_other_errors_are_not_taken_for_refusals(aws):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as error:
        dynamodb.transact([{"Update": {**counter_update("a", 0)["Update"], "TableName": "no-such-table"}}])
    assert failed_conditions(error.value) == [] and not condition_failed(error.value)


def test_a_conflict_is_read_the_same_from_every_dialect():
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import CancellationReason, VerboseClientError

    codes = [None, "TransactionConflict"]
    response = {
        "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
    }
    pynamodb_cause = VerboseClientError(
        response,
        "TransactWriteItems",
        cancellation_reasons=[None, CancellationReason(code="TransactionConflict")],
    )
    dialects = [
        dynamodb.TransactionCancelled(codes),
        ClientError(response, "TransactWriteItems"),
        TransactWriteError("cancelled", cause=pynamodb_cause),
    ]
    assert [conflicted(error) for error in dialects] == [True, True, True]
    assert [failed_conditions(error) for error in dialects] == [[False, False]] * 3
    assert not conflicted(dynamodb.TransactionCancelled([None, "ConditionalCheckFailed"]))
