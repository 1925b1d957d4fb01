"""Queue message shapes: what a producer sends comes back as the same message, anything else is poison."""

import json

import pytest

from chalicelib.queue_messages import FanOut, InvalidMessage, RunTask, SendMessages, UploadedObject, parse

FAN_OUT = {"type": "send.fan_out", "company": 1, "deployment": 2, "round": 0, "after": ""}


def body(**fields):
    return json.dumps({**FAN_OUT, **fields})


def test_a_message_comes_back_as_its_type():
    assert parse(body(), "send") == [FanOut(company=1, deployment=2, round=0, after="")]


@pytest.mark.parametrize(
    "text",
    [
        body(company=True),  # a bool is not an int, though Python says it is
        body(company="1"),
        body(round=1.0),
        body(after=None),
        json.dumps({k: v for k, v in FAN_OUT.items() if k != "after"}),  # a missing field
        body(extra=1),  # a field the type does not have
    ],
)
def test_a_body_off_its_shape_is_poison_naming_the_shape(text):
    with pytest.raises(InvalidMessage, match=r"send\.fan_out needs exactly the fields company: int"):
        parse(text, "send")


def test_list_items_are_checked_one_by_one():
    good = {"type": "send.messages", "company": 1, "ids": [1, 2]}
    assert parse(json.dumps(good), "send") == [SendMessages(company=1, ids=[1, 2])]
    for ids in ([1, True], [1, "2"], "12", None):
        with pytest.raises(InvalidMessage):
            parse(json.dumps({**good, "ids": ids}), "send")


@pytest.mark.parametrize(
    ("text", "queue", "reason"),
    [
        ("{not json", "send", "not JSON"),
        ("[1, 2]", "send", "not a JSON object"),
        (json.dumps({"type": "send.fan_out"}), "tasks", "no message type 'send.fan_out' on the tasks queue"),
        (json.dumps({"type": "nothing", "company": 1}), "send", "no message type 'nothing'"),
        (json.dumps({"company": 1}), "tasks", "no message type None"),
    ],
)
def test_what_is_not_a_message_of_the_queue_is_poison(text, queue, reason):
    with pytest.raises(InvalidMessage, match=reason):
        parse(text, queue)


def test_s3s_test_event_is_no_message():
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "uploads"}
    assert parse(json.dumps(test_event), "imports") == []


def test_an_s3_notification_gives_each_object_with_its_key_decoded():
    record = {
        "eventName": "ObjectCreated:Post",
        "s3": {
            "bucket": {"name": "colony-uploads"},
            "object": {"key": "uploads/1/7/My+list%C3%A9.csv", "eTag": '"abc"', "size": 12},
        },
    }
    assert (
        parse(json.dumps({"Records": [record, record]}), "imports")
        == [UploadedObject(bucket="colony-uploads", key="uploads/1/7/My listé.csv", etag="abc", size=12)] * 2
    )


def test_an_s3_record_without_its_object_is_poison():
    with pytest.raises(InvalidMessage, match="not an S3 notification record"):
        parse(json.dumps({"Records": [{"s3": {"bucket": {"name": "b"}}}]}), "imports")


def test_s3_records_only_arrive_on_the_imports_queue():
    with pytest.raises(InvalidMessage):
        parse(json.dumps({"Records": []}), "tasks")


def test_a_task_message_round_trips():
    assert parse(json.dumps({"type": "task.run", "company": 3, "task_id": 9}), "tasks") == [
        RunTask(company=3, task_id=9)
    ]
