"""The one builder of raw DynamoDB updates: placeholders, typed values and conditions."""

from __future__ import annotations

import pytest

from chalicelib.models.expressions import Update, key, plain, typed


def test_an_update_names_every_attribute_and_types_every_value():
    update = (
        Update("t", key(id=7))
        .set("status", "sent")
        .set_from("state", "receipt", "queued")
        .set_once("provider_id", "p-1")
        .add("sent_count", 2)
        .remove("error")
        .when("{status} = :expect", expect="sending")
        .action()["Update"]
    )
    assert update["Key"] == {"id": {"N": "7"}}
    assert update["UpdateExpression"] == (
        "SET #status = :status, #state = if_not_exists(#receipt, :state), "
        "#provider_id = if_not_exists(#provider_id, :provider_id) ADD #sent_count :sent_count REMOVE #error"
    )
    assert update["ConditionExpression"] == "#status = :expect"
    assert update["ExpressionAttributeNames"] == {
        "#status": "status",
        "#state": "state",
        "#receipt": "receipt",
        "#provider_id": "provider_id",
        "#sent_count": "sent_count",
        "#error": "error",
    }
    assert update["ExpressionAttributeValues"] == {
        ":status": {"S": "sent"},
        ":state": {"S": "queued"},
        ":provider_id": {"S": "p-1"},
        ":sent_count": {"N": "2"},
        ":expect": {"S": "sending"},
    }


def test_an_attribute_whose_name_is_no_word_gets_a_placeholder_the_condition_shares():
    update = (
        Update("t", key(key="1#27"))
        .set("sender:ACME", 5)
        .when("attribute_not_exists({scope})", names={"scope": "sender:ACME"})
        .action()["Update"]
    )
    (placeholder,) = update["ExpressionAttributeNames"]
    assert update["ExpressionAttributeNames"][placeholder] == "sender:ACME"
    assert update["UpdateExpression"] == f"SET {placeholder} = :sender_ACME"
    assert update["ConditionExpression"] == f"attribute_not_exists({placeholder})"


def test_a_new_condition_replaces_the_old_with_its_names_and_values():
    update = Update("t", key(id=1)).set("status", "sent")
    update.when("{status} = :sending AND attribute_not_exists({date_sent})", sending="sending")
    update.when("{status} = :unknown", unknown="unknown")
    written = update.action()["Update"]
    assert written["ExpressionAttributeNames"] == {"#status": "status"}
    assert written["ExpressionAttributeValues"] == {":status": {"S": "sent"}, ":unknown": {"S": "unknown"}}


def test_a_condition_label_that_repeats_an_update_label_is_refused():
    with pytest.raises(ValueError, match="repeat"):
        Update("t", key(id=1)).set("status", "sent").when("{status} <> :status", status="x")


def test_a_value_set_after_the_condition_keeps_its_own_label():
    update = Update("t", key(id=1)).when("{status} = :status", status="queued").set("status", "sending")
    written = update.action()["Update"]
    assert written["UpdateExpression"] == "SET #status = :status_"
    assert written["ExpressionAttributeValues"] == {":status_": {"S": "sending"}, ":status": {"S": "queued"}}


@pytest.mark.parametrize("value", [True, 1.5, None, b"x"])
def test_only_whole_numbers_and_strings_are_written_raw(value):
    with pytest.raises(TypeError):
        typed(value)


def test_a_raw_item_reads_back_as_plain_values():
    assert plain({"id": {"N": "12"}, "name": {"S": "x"}, "ratio": {"N": "1.5"}}) == {
        "id": 12,
        "name": "x",
        "ratio": 1.5,
    }
