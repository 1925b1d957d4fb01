"""A final review's attacks on the sender's shared pace, its groups of 40, a session's one read and the
fan-out's projection; a test marked xfail names a defect found and left for its owner."""

import pytest

from chalicelib import queue_messages
from chalicelib.models import dynamodb
from chalicelib.providers import Permanent
from tests.factories import create_campaign
from tests.sqs_events import chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(100)]


@pytest.fixture
def transactions(monkeypatch):
    """The number of actions of every TransactWriteItems the sender makes."""
    sizes: list[int] = []
    real = dynamodb.transact

    def counted(actions):
        sizes.append(len(actions))
        return real(actions)

    monkeypatch.setattr(dynamodb, "transact", counted)
    return sizes


def test_refunded_api_messages_of_25_campaigns_then_a_chunk_of_40_claims_fit_one_transaction(
    api, tenants, gateway, captured, transactions
):
    """The last group of an API batch (25 statuses, each in its own campaign, refunded) rides with the
    claims of the next record's first group of 40, which also checks the company for erased opt-outs."""
    acme, _ = tenants
    ids = []
    for n in range(25):
        campaign = create_campaign(acme.id, f"C{n}")
        body = {"message": "Hi", "destination": f"2783{n:07d}", "campaign_pk": campaign.id}
        answer = api.post("/messages/send", acme.member, body)
        assert answer.status in (200, 201, 202), answer.body
        ids.append(int(answer.body["id"]))
    captured.take(queue_messages.SendMessages)
    spring = create_campaign(acme.id, "Spring")
    _, chunks = chunks_of(api, acme, NUMBERS, captured, marketing=True, linked_campaign=spring.id)

    def refuse_api_messages(sms, tries):
        if sms.reference.startswith("m"):
            raise Permanent("blocked", "refused")

    gateway.script = refuse_api_messages
    transactions.clear()
    run_send_worker([queue_messages.SendMessages(company=acme.id, ids=ids), *chunks])
    assert len(gateway.sent) == 100
    assert max(transactions) <= 100, sorted(transactions)[-5:]
