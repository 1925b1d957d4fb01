"""An adversarial review of the work after d89f475: each test holds a rule the new code breaks."""

import collections

import pytest

from chalicelib.domain.accounts import sender_numbers
from chalicelib.domain.contacts import optouts
from chalicelib.domain.deployments import final_counts, launch
from chalicelib.domain.sending import sender
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Deployment, Recipient
from tests.factories import (
    create_contact_list,
    create_contacts,
    create_optout,
    create_tenant,
    pending_deployment,
)
from tests.sqs_events import LambdaContext, chunks_of, run_send_worker

SUBSCRIBER = "27815854565"
NAMIBIAN = "264811234567"


def test_an_api_opt_out_scoped_to_a_national_sender_blocks_that_senders_deployments(api, aws):
    # A Namibian company owns 061 234 5678; a draft from it stores the sender read in NA (264...)
    tenant = create_tenant("Windhoek", default_region="NA")
    sender_numbers.assign(tenant.id, "061 234 5678")
    draft = api.post(
        "/deployments",
        tenant.member,
        {"title": "t", "message": "m", "contact_lists": [], "sender": "0612345678"},
    )
    assert draft.status == 201, draft.body
    # The subscriber's opt-out of that sender, recorded through the API in the same spelling
    recorded = api.post("/optouts", tenant.member, {"originator": NAMIBIAN, "sender": "061 234 5678"})
    assert recorded.status == 201, recorded.body
    # ...must block the deployment's sends (it is scoped as ZA reads the number: 27612345678)
    assert optouts.opted_out(tenant.id, draft.body["sender"], [NAMIBIAN]) == {NAMIBIAN}


def test_an_opt_out_recorded_before_numbers_were_normalised_still_blocks_its_sender(aws):
    # The old rule stored a numeric sender as typed (digits, no `+`): an opt-out of 0821234567 held that
    tenant = create_tenant("Old")
    create_optout(tenant.id, SUBSCRIBER, sender="0821234567")
    # A deployment from that number (stored before, or normalised now) must not reach the subscriber
    assert optouts.opted_out(tenant.id, "0821234567", [SUBSCRIBER]) == {SUBSCRIBER}
    assert optouts.opted_out(tenant.id, "27821234567", [SUBSCRIBER]) == {SUBSCRIBER}


def test_a_number_taken_from_a_company_is_not_sent_from_by_its_earlier_drafts(api, tenants):
    acme, bravo = tenants
    sender_numbers.assign(acme.id, "27821234567")
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, SUBSCRIBER)
    draft = pending_deployment(acme, [contact_list.id], sender="27821234567")
    # The operator moves the number to Bravo: replies and STOPs to it now reach Bravo alone
    sender_numbers.remove(acme.id, "27821234567")
    sender_numbers.assign(bravo.id, "27821234567")
    answer = api.post(f"/deployments/{draft.id}/approve", acme.approver)
    frozen = Deployment.get(acme.id, draft.id).frozen_sender
    assert not (answer.status == 200 and frozen == "27821234567"), (answer.status, frozen)


def test_a_reply_to_a_to_that_cannot_be_stored_is_a_400_not_a_500(api, tenants):
    acme, _ = tenants
    token = acme.company.webhook_token
    answer = api.post(
        f"/webhooks/inbound/{token}", json_body={"from": SUBSCRIBER, "to": "\ud800", "text": "Where is it?"}
    )
    assert answer.status < 500, answer.body


def test_a_reply_whose_text_holds_a_lone_surrogate_is_a_400_not_a_500(api, tenants):
    acme, _ = tenants
    token = acme.company.webhook_token
    answer = api.post(f"/webhooks/inbound/{token}", json_body={"from": SUBSCRIBER, "text": "hi \ud800"})
    assert answer.status == 400 and "text" in answer.body["error"]["fields"], answer.body


class Crash(BaseException):
    """The Lambda dies (timeout, out of memory): nothing after this point runs."""


def test_a_crash_before_the_late_recount_leaves_no_credits_taken_for_what_was_never_sent(
    api, aws, gateway, at_time, captured, monkeypatch
):
    # The cancel scenario of test_sending_faults: 26 claims settled unknown are given back unsent late
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))
    tenant = create_tenant("Slow", send_rate=1, credits=5000)
    numbers = [f"2782{n:07d}" for n in range(30)]
    deployment_id, chunks = chunks_of(api, tenant, numbers, captured, marketing=False)
    virtual = {"t": 0.0}
    monkeypatch.setattr(sender, "STATE_FRESH_SECONDS", 0.8)
    monkeypatch.setattr(sender.time, "monotonic", lambda: virtual["t"])
    monkeypatch.setattr(sender.time, "sleep", lambda seconds: virtual.update(t=virtual["t"] + seconds))

    def cancel_during_the_fourth(sms, tries):
        if len(gateway.sent) == 3 and tries == 1:
            assert api.post(f"/deployments/{deployment_id}/pause", tenant.member).status == 200
            assert api.post(f"/deployments/{deployment_id}/cancel", tenant.member).status == 200

    gateway.script = cancel_during_the_fourth
    recount = final_counts.recount

    def crash(*args):
        raise Crash

    # The give-back commits, then the worker dies before it recounts the settled deployment
    monkeypatch.setattr(final_counts, "recount", crash)
    with pytest.raises(Crash):
        run_send_worker(chunks, context=LambdaContext(lambda: 900_000))
    monkeypatch.setattr(final_counts, "recount", recount)
    gateway.script = None
    run_send_worker(chunks, context=LambdaContext(lambda: 900_000))  # SQS delivers the chunk again
    launch.launch_due()  # the launcher's minute: it recounts what the dead worker marked
    settled = Deployment.get(tenant.id, deployment_id, consistent_read=True)
    recipients = collections.Counter(r.status for r in Recipient.query(deployment_id, consistent_read=True))
    assert recipients == {"sent": 4, "failed": 26} and len(gateway.sent) == 4
    assert final_counts.differences(settled) == [], (
        final_counts.differences(settled),
        Company.get(tenant.id).credits,
    )
    assert Company.get(tenant.id).credits == 5000 - 4
