"""settings, infra/ and app.py declare the same tables, queues, topics and bucket."""

from chalicelib.local.stack import load_template, local_template
from chalicelib.settings import BUCKET, QUEUES, TABLES, TOPICS, get_settings


def _named(resource_type: str) -> dict[str, dict]:
    resources = load_template()["Resources"]
    return {name: r for name, r in resources.items() if r.get("Type") == resource_type}


def _physical_suffixes(resource_type: str, name_property: str) -> set[str]:
    suffixes = set()
    for resource in _named(resource_type).values():
        sub = resource["Properties"][name_property]["Fn::Sub"]
        assert sub.startswith("${AWS::StackName}-"), sub
        suffixes.add(sub.removeprefix("${AWS::StackName}-"))
    return suffixes


def test_tables_match_settings():
    assert _physical_suffixes("AWS::DynamoDB::Table", "TableName") == set(TABLES)


def test_queues_match_settings_and_each_has_a_dead_letter_queue():
    expected = set(QUEUES) | {f"{q}-dlq" for q in QUEUES}
    assert _physical_suffixes("AWS::SQS::Queue", "QueueName") == expected
    for name, queue in _named("AWS::SQS::Queue").items():
        if not name.endswith("DeadLetterQueue"):
            redrive = queue["Properties"]["RedrivePolicy"]
            assert redrive["maxReceiveCount"] >= 3
            assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in _named("AWS::SQS::Queue")


def test_bucket_matches_settings_and_notifies_the_imports_queue():
    assert _physical_suffixes("AWS::S3::Bucket", "BucketName") == {BUCKET}
    (bucket,) = _named("AWS::S3::Bucket").values()
    (target,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert target["Queue"] == {"Fn::GetAtt": ["ImportsQueue", "Arn"]}


def test_every_sqs_handler_reads_a_declared_queue():
    from chalice.app import SQSEventConfig

    from app import app

    settings = get_settings()
    declared = {settings.queue(q) for q in QUEUES}
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig):
            assert source.queue in declared, source.name


def test_topics_match_settings_and_their_services_may_publish_to_them():
    assert _physical_suffixes("AWS::SNS::Topic", "TopicName") == set(TOPICS)
    publishers = {}
    for policy in _named("AWS::SNS::TopicPolicy").values():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        for topic in policy["Properties"]["Topics"]:
            publishers[topic["Ref"]] = statement["Principal"]["Service"]
    assert publishers == {
        "SmsInboundTopic": "sms-voice.amazonaws.com",
        "SmsEventsTopic": "sms-voice.amazonaws.com",
        "EmailEventsTopic": "ses.amazonaws.com",
    }


def test_email_is_sent_with_the_configuration_set_whose_events_reach_the_email_topic():
    (configuration_set,) = _named("AWS::SES::ConfigurationSet").values()
    assert configuration_set["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-email"}
    assert get_settings().email_configuration_set == f"{get_settings().prefix}-email"
    (destination,) = _named("AWS::SES::ConfigurationSetEventDestination").values()
    event_destination = destination["Properties"]["EventDestination"]
    assert event_destination["SnsDestination"] == {"TopicARN": {"Ref": "EmailEventsTopic"}}
    assert set(event_destination["MatchingEventTypes"]) == {"delivery", "bounce", "complaint", "reject"}


def test_every_sns_handler_reads_a_declared_topic():
    from chalice.app import SNSEventConfig

    from app import app

    declared = {get_settings().topic(t) for t in TOPICS}
    handled = {s.topic for s in app.event_sources if isinstance(s, SNSEventConfig)}
    assert handled == declared


def test_local_template_keeps_only_what_moto_provisions():
    template = local_template(load_template())
    types = {r["Type"] for r in template["Resources"].values()}
    assert types == {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::SNS::Topic"}
    for resource in template["Resources"].values():
        assert "DependsOn" not in resource
        assert "NotificationConfiguration" not in resource["Properties"]


def test_workers_give_up_on_the_attempt_the_queue_redrives_after():
    from chalicelib.workers import callbacks
    from chalicelib.workers.sqs import MAX_RECEIVES

    for name, queue in _named("AWS::SQS::Queue").items():
        if not name.endswith("DeadLetterQueue"):
            expected = callbacks.MAX_RECEIVES if name == "CallbacksQueue" else MAX_RECEIVES
            assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == expected, name


def test_callback_retries_span_about_a_day():
    from chalicelib.workers import callbacks

    waits = [callbacks.back_off(n) for n in range(1, callbacks.MAX_RECEIVES)]
    assert waits[:3] == [30, 60, 120] and max(waits) == 4 * 3600
    assert 20 * 3600 <= sum(waits) <= 28 * 3600


def test_every_queue_has_its_worker_module():
    import importlib

    for queue in QUEUES:
        assert hasattr(importlib.import_module(f"chalicelib.workers.{queue}"), "handle"), queue


def test_senders_share_the_rate_between_as_many_workers_as_infra_allows():
    from chalicelib.settings import SEND_CONCURRENCY

    resources = load_template()["Resources"]
    assert resources["SendWorker"]["Properties"]["ReservedConcurrentExecutions"] == SEND_CONCURRENCY
