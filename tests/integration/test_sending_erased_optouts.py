"""A send asks erased tokens only once an erasure has kept one of the company's opt-outs under a token,
and an erasure that begins mid-chunk still keeps its person's marketing from going."""

import pytest

from chalicelib import queue_messages
from chalicelib.domain.contacts import optouts
from chalicelib.domain.privacy import erase_records
from chalicelib.domain.privacy.person import person_of
from chalicelib.domain.rules.channels import SMS
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Message, Recipient
from tests.factories import create_optout
from tests.sqs_events import chunks_of, run_send_worker

NUMBERS = [f"2782{n:07d}" for n in range(10)]
OPTED_OUT = NUMBERS[3]


@pytest.fixture
def reads(monkeypatch):
    """Whether each opt-out read asked erased tokens (in order)."""
    asked = []
    real = optouts.opted_out

    def recorded(company, sender, numbers, with_tokens=True):
        asked.append(with_tokens)
        return real(company, sender, numbers, with_tokens)

    monkeypatch.setattr(optouts, "opted_out", recorded)
    return asked


def statuses(deployment_id):
    return {r.msisdn: r.status for r in Recipient.query(deployment_id)}


def test_a_company_no_erasure_kept_an_optout_of_asks_no_tokens(
    api, tenants, gateway, at_time, captured, reads
):
    acme, _ = tenants
    create_optout(acme.id, OPTED_OUT)
    deployment_id, chunks = chunks_of(api, acme, NUMBERS, captured, marketing=True)
    reads.clear()  # the approval's own reads
    run_send_worker(chunks)
    assert reads == [False]
    assert statuses(deployment_id)[OPTED_OUT] == "opted_out" and len(gateway.sent) == 9


def test_an_erasure_that_begins_between_a_chunks_read_and_its_claims_still_blocks_its_person(
    api, tenants, gateway, at_time, captured, reads, monkeypatch
):
    acme, _ = tenants
    create_optout(acme.id, OPTED_OUT)
    deployment_id, chunks = chunks_of(api, acme, NUMBERS, captured, marketing=True)
    real = optouts.suppressions

    def erasure_begins_first(company, numbers, scopes=None):
        if len(reads) == 1:  # the chunk's first read: the erasure moves the suppression to the token now
            erase_records.keep_suppression(person_of(acme.id, SMS, OPTED_OUT))
        return real(company, numbers, scopes)

    monkeypatch.setattr(optouts, "suppressions", erasure_begins_first)
    reads.clear()  # the approval's own reads
    run_send_worker(chunks)
    assert reads == [False, True]  # the claim saw the erasure's mark: read again, with tokens
    assert OPTED_OUT not in {sms.to for sms in gateway.sent} and len(gateway.sent) == 9
    assert statuses(deployment_id)[OPTED_OUT] == "opted_out"
    assert Company.get(acme.id).erased_optouts == 1


def test_once_an_erasure_kept_an_optout_every_read_asks_tokens(
    api, tenants, gateway, at_time, captured, reads
):
    acme, _ = tenants
    create_optout(acme.id, OPTED_OUT)
    erase_records.keep_suppression(person_of(acme.id, SMS, OPTED_OUT))
    deployment_id, chunks = chunks_of(api, acme, NUMBERS, captured, marketing=True)
    reads.clear()  # the approval's own reads
    run_send_worker(chunks)
    assert reads == [True] and len(gateway.sent) == 9
    assert statuses(deployment_id)[OPTED_OUT] == "opted_out"


def test_the_upgrade_marks_the_companies_earlier_erasures_kept_optouts_of(
    tenants, at_time, capsys, environment_kept
):
    import json

    from chalicelib import cli
    from chalicelib.domain import clock
    from chalicelib.models.erasures import Erasure

    acme, other = tenants
    for company, kept in ((acme.id, True), (other.id, False)):
        Erasure(
            company=company,
            id=1,
            channel=SMS,
            person="erased:old",
            status="completed",
            suppression_kept=kept,
            date_created=clock.now(),
        ).save()
    assert cli.main(["--stage", "test", "erasures", "mark-kept-optouts"]) == 0
    assert json.loads(capsys.readouterr().out) == {"marked": [acme.id]}
    assert Company.get(acme.id).erased_optouts == 1 and not Company.get(other.id).erased_optouts
    assert cli.main(["--stage", "test", "erasures", "mark-kept-optouts"]) == 0
    assert json.loads(capsys.readouterr().out) == {"marked": []}


def test_an_api_messages_refund_and_a_chunk_of_the_same_company_in_one_invocation_both_go(
    api, tenants, gateway, at_time, captured
):
    acme, _ = tenants
    create_optout(acme.id, OPTED_OUT)
    items = [{"destination": OPTED_OUT, "message": "Sale", "marketing": True}]
    assert api.post("/messages/bulk", acme.member, items).status == 202
    (messages,) = captured.take(queue_messages.SendMessages)
    deployment_id, chunks = chunks_of(api, acme, NUMBERS, captured, marketing=True)
    run_send_worker([messages, *chunks])
    assert [m.status for m in Message.query(acme.id)] == ["opted_out"]
    assert statuses(deployment_id)[OPTED_OUT] == "opted_out" and len(gateway.sent) == 9


def test_an_erasure_run_again_after_its_optout_moved_unmarked_marks_the_company(tenants):
    acme, _ = tenants
    create_optout(acme.id, OPTED_OUT)
    person = person_of(acme.id, SMS, OPTED_OUT)
    assert erase_records.keep_suppression(person) is True
    Company(id=acme.id).update(
        actions=[Company.erased_optouts.remove()]
    )  # as a release before the mark left it
    assert erase_records.keep_suppression(person) is True  # the erasure's rerun: already moved
    assert Company.get(acme.id, consistent_read=True).erased_optouts
    assert optouts.opted_out(acme.id, None, [OPTED_OUT]) == {OPTED_OUT}
