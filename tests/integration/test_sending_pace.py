"""A deployment's pace: its sender's rate shared among only as many workers as its chunks can take."""

import pytest

from chalicelib.domain.deployments import fanout
from chalicelib.domain.sending import pacing
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Recipient
from chalicelib.settings import get_settings
from tests.sqs_events import chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(30)]


@pytest.fixture
def paces(monkeypatch):
    """The per-second rate of every pacer the sender makes."""
    made = []
    real = pacing.Pacer

    def recorded(per_second):
        made.append(per_second)
        return real(per_second)

    monkeypatch.setattr(pacing, "Pacer", recorded)
    return made


def rate_of(tenant):
    return Company.get(tenant.id).send_rate


def sent(deployment_id):
    return sorted(r.status for r in Recipient.query(deployment_id))


def test_a_deployment_in_one_chunk_is_sent_at_its_senders_whole_rate(
    api, tenants, gateway, at_time, captured, paces
):
    acme, _ = tenants
    deployment_id, chunks = chunks_of(api, acme, NUMBERS[:10], captured)
    assert [chunk.workers for chunk in chunks] == [1]
    run_send_worker(chunks)
    assert paces == [rate_of(acme)] and sent(deployment_id) == ["sent"] * 10 and len(gateway.sent) == 10


def test_a_deployment_in_two_chunks_shares_its_rate_between_two_workers(
    api, tenants, gateway, at_time, captured, paces, small_chunks
):
    acme, _ = tenants
    deployment_id, chunks = chunks_of(api, acme, NUMBERS, captured)
    assert [chunk.workers for chunk in chunks] == [2, 2]
    run_send_worker(chunks[:1])
    assert paces == [rate_of(acme) / 2] and sent(deployment_id).count("sent") == 20


def test_a_deployment_of_several_pages_shares_its_rate_among_every_worker(
    api, tenants, gateway, at_time, captured, paces, monkeypatch
):
    monkeypatch.setattr(fanout, "FANOUT_PAGE", 10)
    acme, _ = tenants
    _, chunks = chunks_of(api, acme, NUMBERS, captured)
    assert [chunk.workers for chunk in chunks] == [None]
    run_send_worker(chunks)
    assert get_settings().send_concurrency == 4
    assert paces == [rate_of(acme) / 4]
