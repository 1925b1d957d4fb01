"""A sender's pace: every worker sending for one sender id together stays within its send_rate."""

import pytest

from chalicelib.domain.sending import pacing
from chalicelib.models.companies import Company
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


def test_two_one_chunk_deployments_of_one_sender_together_stay_within_its_rate(
    api, tenants, gateway, at_time, captured, paces
):
    acme, _ = tenants
    _, first = chunks_of(api, acme, NUMBERS[:10], captured)
    _, second = chunks_of(api, acme, NUMBERS[10:20], captured)
    assert len(first) == len(second) == 1
    run_send_worker(first)  # worker 1
    run_send_worker(second)  # worker 2, at the same time in production
    assert len(paces) == 2
    assert sum(paces) <= rate_of(acme), f"two workers at {paces} msg/s each, sender allows {rate_of(acme)}"
