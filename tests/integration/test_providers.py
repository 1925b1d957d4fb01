"""Each gateway adapter: AWS End User Messaging through botocore's Stubber (moto has no mock of it),
SNS through moto, the outbox through its file."""

import json

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from chalicelib import aws as factory
from chalicelib.providers import Outgoing, Permanent, Retryable
from chalicelib.providers.end_user_messaging import EndUserMessagingProvider
from chalicelib.providers.outbox import OutboxProvider
from chalicelib.providers.sns import SnsProvider

PROMO = Outgoing(
    to="27815854565",
    sender="ACME",
    text="Sale today",
    segments=1,
    marketing=True,
    reference="d12:27815854565",
    deployment=12,
)
RECEIPT = Outgoing(
    to="27815854565", sender=None, text="Code 1234", segments=1, marketing=False, reference="m7"
)


@pytest.fixture
def stubbed(aws):
    with Stubber(factory.client("pinpoint-sms-voice-v2")) as stubber:
        yield stubber


def test_end_user_messaging_sends_promotional_with_a_context(stubbed):
    stubbed.add_response(
        "send_text_message",
        {"MessageId": "eum-1"},
        {
            "DestinationPhoneNumber": "+27815854565",
            "MessageBody": "Sale today",
            "MessageType": "PROMOTIONAL",
            "Context": {"reference": "d12:27815854565"},
            "OriginationIdentity": "ACME",
        },
    )
    assert EndUserMessagingProvider().send(PROMO) == "eum-1"
    stubbed.assert_no_pending_responses()


def test_end_user_messaging_sends_transactional_without_a_sender(stubbed):
    stubbed.add_response(
        "send_text_message",
        {"MessageId": "eum-2"},
        {
            "DestinationPhoneNumber": "+27815854565",
            "MessageBody": "Code 1234",
            "MessageType": "TRANSACTIONAL",
            "Context": {"reference": "m7"},
        },
    )
    assert EndUserMessagingProvider().send(RECEIPT) == "eum-2"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 400, Retryable),
        ("ServiceQuotaExceededException", 402, Retryable),
        ("InternalServerException", 500, Retryable),
        ("ValidationException", 400, Permanent),
        ("ResourceNotFoundException", 404, Permanent),
        ("AccessDeniedException", 403, Permanent),
    ],
)
def test_end_user_messaging_errors_are_sorted(stubbed, code, status, kind):
    stubbed.add_client_error("send_text_message", service_error_code=code, http_status_code=status)
    with pytest.raises(kind) as raised:
        EndUserMessagingProvider().send(PROMO)
    assert raised.value.code == code


def test_a_timeout_is_retryable(monkeypatch, aws):
    def times_out(**kwargs):
        raise ReadTimeoutError(endpoint_url="https://sms-voice.example")

    client = factory.client("pinpoint-sms-voice-v2")
    monkeypatch.setattr(client, "send_text_message", times_out)
    with pytest.raises(Retryable):
        EndUserMessagingProvider().send(PROMO)


def test_sns_publishes_with_the_sms_type(aws):
    message_id = SnsProvider().send(PROMO)
    assert message_id
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    backend = sns_backends[DEFAULT_ACCOUNT_ID]["af-south-1"]
    assert ("+27815854565", "Sale today") in [
        (number, text) for number, text, *_ in backend.sms_messages.values()
    ]


def test_the_outbox_writes_one_json_line_per_sms(tmp_path, monkeypatch):
    monkeypatch.setenv("COLONY_OUTBOX", str(tmp_path / "outbox.jsonl"))
    first = OutboxProvider().send(PROMO)
    OutboxProvider().send(RECEIPT)
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert lines[0] == {
        "to": "27815854565",
        "from": "ACME",
        "text": "Sale today",
        "segments": 1,
        "deployment": 12,
        "message_id": first,
        "reference": "d12:27815854565",
    }
    assert lines[1]["deployment"] is None
