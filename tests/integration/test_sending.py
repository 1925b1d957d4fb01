"""The sending pipeline under faults: every recipient at most once, every credit accounted for."""

import collections
import threading

import pytest

from chalicelib import aws, queue_messages
from chalicelib.domain.contacts import optouts
from chalicelib.domain.deployments import fanout, launch, settlement
from chalicelib.domain.sending import sender
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from chalicelib.providers import Permanent, Retryable
from chalicelib.settings import get_settings
from tests.factories import create_contact_list, create_contacts, create_optout, pending_deployment
from tests.sqs_events import chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(30)]  # two chunks at a fifth of the size: 20 and 10
TOTAL = len(NUMBERS)
FULL_SIZE = [f"2782{n:07d}" for n in range(150)]  # two chunks at the production size: 100 and 50


class Crash(BaseException):
    """The Lambda process dies: nothing after this point runs, nothing is cleaned up."""


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))


@pytest.fixture
def campaign(tenants, at_time, small_chunks):
    """Acme approves (as a second person) a marketing send to 30 numbers on a Thursday at 10:00, sent in
    chunks of 20 and groups of 5 (`small_chunks`): two chunks, of four groups and two."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, *NUMBERS, first_name="Ann")
    return acme, contact_list


def approve(api, tenant, contact_list, **fields):
    deployment = pending_deployment(tenant, [contact_list.id], **fields)
    answer = api.post(f"/deployments/{deployment.id}/approve", tenant.approver)
    assert answer.status == 200, answer.body
    return deployment.id


def sent_counts(gateway):
    return collections.Counter(sms.to for sms in gateway.sent)


def statuses(deployment_id):
    return collections.Counter(r.status for r in Recipient.query(deployment_id))


def test_an_approved_deployment_is_sent_once_to_everyone_and_settles_its_credits(api, tenants, pump, gateway):
    """The send of this module at the production sizes (chunks of 100 in groups of 40): 150 numbers."""
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, *FULL_SIZE, first_name="Ann")
    create_optout(acme.id, FULL_SIZE[5])
    charged = len(FULL_SIZE) - 1
    deployment_id = approve(api, acme, contact_list)
    reserved = Deployment.get(acme.id, deployment_id).reserved
    assert reserved == charged and Company.get(acme.id).credits == 1000 - charged
    pump.drain()
    deployment = Deployment.get(acme.id, deployment_id)
    assert (deployment.status, deployment.sent_count, deployment.total_credits) == (4, charged, charged)
    assert sent_counts(gateway) == collections.Counter(n for n in FULL_SIZE if n != FULL_SIZE[5])
    assert gateway.sent[0].text == "Hello Ann\nReply STOP to opt out"
    assert gateway.sent[0].marketing and gateway.sent[0].reference == f"d{deployment_id}:{gateway.sent[0].to}"
    assert statuses(deployment_id) == {"sent": charged, "opted_out": 1}
    assert Company.get(acme.id).credits == 1000 - charged
    listed = api.get(f"/deployments/{deployment_id}/messages?status=opted_out", acme.member).body["results"]
    assert [r["msisdn"] for r in listed] == [FULL_SIZE[5]]


def test_every_chunk_delivered_three_times_sends_each_recipient_once(
    api, campaign, pump, gateway, monkeypatch
):
    acme, contact_list = campaign
    real = queue_messages.enqueue_many

    def thrice(batch, delay_seconds=0):
        for _ in range(3):
            real(batch, delay_seconds)

    monkeypatch.setattr(queue_messages, "enqueue_many", thrice)
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    assert set(sent_counts(gateway).values()) == {1}
    assert len(gateway.sent) == TOTAL
    deployment = Deployment.get(acme.id, deployment_id)
    assert (deployment.status, deployment.sent_count, deployment.total_credits) == (4, TOTAL, TOTAL)
    assert Company.get(acme.id).credits == 1000 - TOTAL


def test_a_crash_between_sending_and_writing_leaves_one_group_unknown_and_nothing_sent_twice(
    api, campaign, pump, gateway
):
    acme, contact_list = campaign
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue("send"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})

    def die_once(sms, tries):
        if len(gateway.sent) == 28 and not getattr(die_once, "done", False):
            die_once.done = True
            gateway.sent.append(sms)
            raise Crash

    gateway.script = die_once
    deployment_id = approve(api, acme, contact_list)
    with pytest.raises(Crash):
        pump.drain()
    pump.drain()
    settlement.finish(Deployment.get(acme.id, deployment_id))
    counts = statuses(deployment_id)
    assert 1 <= counts["unknown"] <= sender.GROUP
    assert counts["sent"] + counts["unknown"] == TOTAL
    assert set(sent_counts(gateway).values()) == {1}
    unknown = {r.msisdn for r in Recipient.query(deployment_id) if r.status == "unknown"}
    assert {sms.to for sms in gateway.sent} >= {n for n in NUMBERS if n not in unknown}
    settled = Deployment.get(acme.id, deployment_id)
    assert settled.total_credits == TOTAL  # an unknown recipient is charged: it may well have been sent
    assert Company.get(acme.id).credits == 1000 - TOTAL


def test_two_workers_on_one_chunk_send_each_recipient_once(api, campaign, gateway):
    acme, contact_list = campaign
    deployment_id = approve(api, acme, contact_list)
    deployment = Deployment.get(acme.id, deployment_id)
    recipients = list(Recipient.query(deployment_id))[: fanout.CHUNK]
    (chunk,) = fanout._chunks(deployment, deployment.round, recipients)
    two_workers_at_once(chunk)
    assert len(gateway.sent) == fanout.CHUNK > 2 * sender.GROUP  # three groups
    assert set(sent_counts(gateway).values()) == {1}
    assert statuses(deployment_id)["sent"] == fanout.CHUNK


def test_a_throttling_gateway_that_recovers_sends_everyone_once(api, campaign, pump, gateway):
    acme, contact_list = campaign

    def throttle(sms, tries):
        if sms.to in NUMBERS[:10] and tries <= 2:
            raise Retryable("ThrottlingException", "slow down")

    gateway.script = throttle
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    assert len(gateway.sent) == TOTAL
    assert set(sent_counts(gateway).values()) == {1}
    assert Deployment.get(acme.id, deployment_id).status == 4


def test_a_gateway_throttling_past_the_backoff_hands_the_chunk_back_and_it_finishes_later(
    api, campaign, pump, gateway
):
    acme, contact_list = campaign
    stubborn = NUMBERS[24]  # in the second chunk's first group

    def throttle(sms, tries):
        if sms.to == stubborn and tries <= len(sender.BACKOFF_SECONDS) + 1:
            raise Retryable("ThrottlingException", "slow down")

    gateway.script = throttle
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    assert sent_counts(gateway)[stubborn] == 1
    assert set(sent_counts(gateway).values()) == {1}
    deployment = Deployment.get(acme.id, deployment_id)
    assert (deployment.status, deployment.sent_count) == (4, TOTAL)


def test_a_permanent_failure_fails_the_recipient_and_refunds_its_credit(api, campaign, pump, gateway):
    acme, contact_list = campaign

    def reject_one(sms, tries):
        if sms.to == NUMBERS[7]:
            raise Permanent("InvalidNumber", "no such")

    gateway.script = reject_one
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    failed = [r for r in Recipient.query(deployment_id) if r.status == "failed"]
    assert [(r.msisdn, r.error) for r in failed] == [(NUMBERS[7], "InvalidNumber: no such")]
    deployment = Deployment.get(acme.id, deployment_id)
    assert (deployment.status, deployment.total_credits) == (4, TOTAL - 1)
    assert Company.get(acme.id).credits == 1000 - (TOTAL - 1)


def test_an_optout_arriving_mid_send_is_honoured_by_the_later_chunks(
    api, tenants, gateway, captured, small_chunks
):
    acme, _ = tenants
    deployment_id, (first, second) = chunks_of(api, acme, NUMBERS, captured)
    late = NUMBERS[26]  # in the second chunk
    run_send_worker([first])
    optouts.create(acme.id, late, None, "STOP", source="api")
    run_send_worker([second])
    assert late not in sent_counts(gateway) and len(gateway.sent) == TOTAL - 1
    assert Recipient.get(deployment_id, late).status == "opted_out"
    assert Deployment.get(acme.id, deployment_id).total_credits == TOTAL - 1
    assert Company.get(acme.id).credits == 1000 - (TOTAL - 1)


def test_a_poison_message_reaches_the_dead_letter_queue(pump):
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().queue("send"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"type": "send.chunk", "company": 1}')
    pump.drain()
    assert pump.dead_letters("send") == ['{"type": "send.chunk", "company": 1}']


def test_a_chunk_that_always_fails_is_given_up_and_the_deployment_ends_failed_with_its_error(
    api, campaign, pump, gateway, at_time
):
    acme, contact_list = campaign

    def broken(sms, tries):
        if sms.to >= NUMBERS[fanout.CHUNK]:  # the second chunk
            raise Retryable("InternalServerException", "gateway down")

    gateway.script = broken
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    deployment = Deployment.get(acme.id, deployment_id)
    assert "could not be processed" in deployment.error
    at_time("2026-11-26T10:20:00+02:00")
    launch.launch_due()
    deployment = Deployment.get(acme.id, deployment_id)
    assert deployment.status == 5
    first = fanout.CHUNK
    assert (deployment.sent_count, deployment.total_credits) == (first, first)
    assert statuses(deployment_id) == {"sent": first, "failed": TOTAL - first}
    assert Company.get(acme.id).credits == 1000 - first


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        ("2026-11-29T10:00:00+02:00", "2026-11-30T06:00:00Z"),  # a Sunday: Monday 08:00
        ("2026-12-16T10:00:00+02:00", "2026-12-17T06:00:00Z"),  # Day of Reconciliation
        ("2026-11-28T13:00:00+02:00", "2026-11-30T06:00:00Z"),  # Saturday 13:00: closed until Monday
    ],
)
def test_marketing_waits_for_permitted_hours(api, campaign, pump, gateway, at_time, moment, opening):
    acme, contact_list = campaign
    at_time(moment)
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    deployment = Deployment.get(acme.id, deployment_id)
    assert (deployment.status, deployment.launch_at, len(gateway.sent)) == (2, opening, 0)


def test_transactional_deployments_are_not_held_by_quiet_hours(api, campaign, pump, gateway, at_time):
    acme, contact_list = campaign
    at_time("2026-11-29T23:00:00+02:00")
    deployment_id = approve(api, acme, contact_list, marketing=False)
    pump.drain()
    assert Deployment.get(acme.id, deployment_id).status == 4
    assert len(gateway.sent) == TOTAL


def test_a_send_crossing_20_00_pauses_and_resumes_when_hours_open(api, campaign, pump, gateway, at_time):
    acme, contact_list = campaign
    at_time("2026-11-26T19:59:00+02:00")

    def evening_falls(sms, tries):
        if len(gateway.sent) == 12:  # within the first chunk's third group
            at_time("2026-11-26T20:00:00+02:00")

    gateway.script = evening_falls
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    paused = Deployment.get(acme.id, deployment_id)
    assert paused.status == 7
    assert paused.launch_at == "2026-11-27T06:00:00Z"
    assert api.get(f"/deployments/{deployment_id}", acme.member).body["resumes_at"] == "2026-11-27T06:00:00Z"
    early = len(gateway.sent)
    assert 12 <= early <= 12 + sender.GROUP
    at_time("2026-11-27T06:00:00+00:00")
    gateway.script = None
    launch.launch_due()
    pump.drain()
    done = Deployment.get(acme.id, deployment_id)
    assert (done.status, done.sent_count, done.round) == (4, TOTAL, 2)
    assert set(sent_counts(gateway).values()) == {1}
    assert len(gateway.sent) == TOTAL


def test_pause_and_resume_by_hand(api, campaign, pump, gateway):
    acme, contact_list = campaign
    deployment_id = approve(api, acme, contact_list)
    paused = api.post(f"/deployments/{deployment_id}/pause", acme.member).body
    assert (paused["status_name"], paused["resumes_at"]) == ("paused", None)  # only a resume restarts it
    pump.drain()
    assert len(gateway.sent) == 0
    assert api.post(f"/deployments/{deployment_id}/pause", acme.member).status == 409
    assert api.post(f"/deployments/{deployment_id}/resume", acme.member).body["status_name"] == "sending"
    pump.drain()
    assert Deployment.get(acme.id, deployment_id).status == 4
    assert len(gateway.sent) == TOTAL
    assert api.post(f"/deployments/{deployment_id}/resume", acme.member).status == 409


def test_cancelling_a_paused_send_refunds_what_was_not_sent(api, campaign, pump, gateway):
    acme, contact_list = campaign

    def pause_at_ten(sms, tries):
        if len(gateway.sent) == 10:
            assert api.post(f"/deployments/{sms.deployment}/pause", acme.member).status == 200

    gateway.script = pause_at_ten
    deployment_id = approve(api, acme, contact_list)
    pump.drain()
    sent = len(gateway.sent)
    assert 10 < sent <= 10 + sender.GROUP
    cancelled = api.post(f"/deployments/{deployment_id}/cancel", acme.member)
    assert cancelled.body["status_name"] == "cancelled"
    assert cancelled.body["total_credits"] == sent
    assert Company.get(acme.id).credits == 1000 - sent
    assert statuses(deployment_id) == {"sent": sent, "failed": TOTAL - sent}


def test_every_send_route_is_404_across_companies(api, campaign, tenants):
    acme, contact_list = campaign
    _, bravo = tenants
    deployment_id = approve(api, acme, contact_list)
    for action in ("pause", "resume"):
        assert api.post(f"/deployments/{deployment_id}/{action}", bravo.admin).status == 404
    assert api.get(f"/deployments/{deployment_id}/messages", bravo.admin).status == 404
    assert api.get(f"/deployments/{deployment_id}/messages?status=bogus", acme.member).status == 400


def two_workers_at_once(chunk):
    """Two send workers on the same chunk, started together."""
    start = threading.Barrier(2)

    def work():
        start.wait()
        worker = sender.Sender(time_left_ms=lambda: 900_000)
        worker.send_chunk(chunk)
        worker.flush()

    threads = [threading.Thread(target=work) for _ in range(2)]
    with one_request_at_a_time():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


class one_request_at_a_time:
    """DynamoDB applies each request atomically; moto in-process does not under threads, so each call is."""

    def __enter__(self):
        from botocore.client import BaseClient

        self.original = BaseClient._make_api_call
        lock = threading.Lock()
        original = self.original

        def atomic(client, operation, params):
            with lock:
                return original(client, operation, params)

        BaseClient._make_api_call = atomic
        return self

    def __exit__(self, *exc):
        from botocore.client import BaseClient

        BaseClient._make_api_call = self.original


@pytest.mark.parametrize(
    ("marketing", "optout", "sent_to_the_opted_out", "line"),
    [
        (False, False, True, False),
        (False, True, False, True),
        (True, False, False, False),
        (True, True, False, True),
    ],
)
def test_opted_out_numbers_are_left_out_when_marketing_or_optout(
    api, tenants, pump, gateway, marketing, optout, sent_to_the_opted_out, line
):
    acme, _ = tenants
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27820000001", "27820000002", first_name="Ann")
    create_optout(acme.id, "27820000002")
    deployment_id = approve(api, acme, contact_list, marketing=marketing, optout=optout)
    expected = 2 if sent_to_the_opted_out else 1
    assert Deployment.get(acme.id, deployment_id).total_contacts == expected
    pump.drain()
    assert sorted(sms.to for sms in gateway.sent) == ["27820000001", "27820000002"][:expected]
    assert all(sms.text.endswith("\nReply STOP to opt out") == line for sms in gateway.sent)
    assert statuses(deployment_id) == ({"sent": 2} if sent_to_the_opted_out else {"sent": 1, "opted_out": 1})
