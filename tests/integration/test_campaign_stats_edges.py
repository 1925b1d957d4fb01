"""Per-campaign stats at the edges (imports, give-ups, email, receipts racing a crash, recipients frozen
without a campaign), and a quote or a repeated query parameter that must not act before it is refused."""

from __future__ import annotations

import collections

import pytest

from chalicelib.domain.inbound import receipts
from chalicelib.domain.sending import sender
from chalicelib.domain.stats import rollup
from chalicelib.domain.stats.verify import verify
from chalicelib.models.deployments import Recipient
from chalicelib.models.stats import Stat
from chalicelib.providers import Retryable
from tests.factories import (
    approved_deployment,
    create_campaign,
    create_contact_list,
    create_contacts,
    create_optout,
    pending_deployment,
)
from tests.integration.test_drf_edges import _import_deployment

NUMBERS = [f"2782{n:07d}" for n in range(26)]  # with `small_chunks`, two chunks: 20 and 6


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))


def hour_totals(scope):
    total = collections.Counter()
    for r in Stat.query(scope, Stat.period.startswith("1#"), consistent_read=True):
        for c in ("sent", "unsent", "optout", "email_sent", "email_unsent", "email_optout"):
            total[c] += getattr(r, c) or 0
    return {k: v for k, v in total.items() if v}


def test_an_imported_deployment_with_a_campaign_and_an_opt_out_agrees(api, tenants, pump, gateway):
    acme, _ = tenants
    spring = create_campaign(acme.id, "Spring")
    create_optout(acme.id, "27815854565")
    data = b"destination,message\r\n0815854565,Hi\r\n0825854565,Hi\r\n0835854565,Hi\r\n"
    started = _import_deployment(api, acme.member, data, title="Notices")
    assert started.status == 202, started.body
    pump.drain()
    deployment_id = started.body["id"]
    edited = api.patch(
        f"/deployments/{deployment_id}", acme.member, {"linked_campaign": spring.id, "marketing": True}
    )
    assert edited.status == 200, edited.body
    pump.drain()
    assert api.post(f"/deployments/{deployment_id}/submit", acme.member).status == 200
    assert api.post(f"/deployments/{deployment_id}/approve", acme.approver).status == 200
    pump.drain()
    assert hour_totals(f"k{spring.id}") == hour_totals(f"d{deployment_id}")
    assert hour_totals(f"d{deployment_id}").get("optout") == 1
    assert verify(acme.id) == []


def test_a_cancel_and_a_give_up_agree_in_the_campaign(api, tenants, pump, gateway, at_time, small_chunks):
    from chalicelib.domain.deployments import launch

    acme, _ = tenants
    spring = create_campaign(acme.id, "Spring")

    def broken(sms, tries):
        if sms.to >= NUMBERS[small_chunks]:  # the second chunk
            raise Retryable("InternalServerException", "gateway down")

    gateway.script = broken
    deployment_id = approved_deployment(api, acme, NUMBERS, linked_campaign=spring.id)
    pump.drain()
    at_time("2026-11-26T10:20:00+02:00")
    launch.launch_due()
    assert hour_totals(f"k{spring.id}") == hour_totals(f"d{deployment_id}")
    assert hour_totals(f"k{spring.id}") == {"sent": 20, "unsent": 6}
    assert verify(acme.id) == []


def test_email_deployments_and_api_emails_count_in_the_campaign(api, tenants, pump, gateway, mail_gateway):
    acme, _ = tenants
    settings = {"email_from": "Acme News <news@acme.co.za>", "email_credits": 2, "email_send_rate": 1000}
    assert api.patch("/company", acme.admin, settings).status == 200
    spring = create_campaign(acme.id, "Spring")
    contact_list = create_contact_list(acme.id)
    for n in range(3):
        create_contacts(acme.id, contact_list.id, NUMBERS[n], first_name="Ann", email=f"p{n}@example.com")
    deployment = pending_deployment(
        acme, [contact_list.id], dispatch=3, subject="Hi {{first_name}}", linked_campaign=spring.id
    )
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    sent = api.post(
        "/emails/send",
        acme.member,
        {"destination": "x@example.com", "subject": "S", "message": "Hi", "campaign_pk": spring.id},
    )
    assert sent.status == 201, sent.body
    pump.drain()
    totals = hour_totals(f"k{spring.id}")
    assert totals == {"sent": 3, "email_sent": 4}, totals
    assert verify(acme.id) == []
    rollup.roll_up_alone(lambda: 60_000)
    for period in ("daily", "monthly", "yearly"):
        (row,) = api.get(f"/campaigns/{spring.id}/stats/{period}", acme.member).body["results"]
        assert row["total"] == 7
        assert api.get(f"/campaigns/{spring.id}/stats/{period}/{row['id']}", acme.member).body == row


def test_an_approval_after_an_imported_drafts_edit_leaves_its_quote_current(api, tenants, pump, gateway):
    acme, _ = tenants
    data = b"destination,message\r\n0815854565,Hi\r\n0825854565,Hi\r\n"
    started = _import_deployment(api, acme.member, data, title="Notices")
    assert started.status == 202, started.body
    pump.drain()
    path = f"/deployments/{started.body['id']}"
    assert api.get(path, acme.member).body["quote_status"] == "current"
    edited = api.patch(path, acme.member, {"title": "Renamed"})
    assert edited.body["quote_status"] == "pending"
    # submitted and approved before the quote task runs (the approval freezes its own quote)
    assert api.post(f"{path}/submit", acme.member).status == 200
    assert api.post(f"{path}/approve", acme.approver).status == 200
    pump.drain()
    shown = api.get(path, acme.member).body
    assert shown["status_name"] == "sent"
    assert shown["quote_status"] == "current", shown["quote_status"]


def test_a_repeated_query_parameter_is_refused_before_any_of_its_values_is_used(api, tenants, pump, gateway):
    """A repeated parameter is a 400 before the view reads one of its values (here: another company's
    deployment, which would be a 404)."""
    acme, bravo = tenants
    mine = approved_deployment(api, acme, ["27815854565"], marketing=False)
    theirs = approved_deployment(api, bravo, ["27825854565"], marketing=False)
    pump.drain()
    answer = api.get(f"/stats/hourly?deployment={mine}&deployment={theirs}", acme.member)
    assert answer.status == 400, (answer.status, answer.body)
    assert list(answer.body["error"]["fields"]) == ["deployment"]


def test_the_sender_counts_the_campaign_frozen_on_each_recipient_and_verify_reads_every_campaign(
    api, tenants, pump, gateway
):
    """The campaign a recipient counts in is the one frozen on it (none for a recipient frozen before
    campaigns were counted), in the sender as in receipts; verify reads every campaign's rows."""
    from tests.sqs_events import Captured  # noqa: F401

    acme, _ = tenants
    spring = create_campaign(acme.id, "Spring")
    contact_list = create_contact_list(acme.id)
    create_contacts(acme.id, contact_list.id, "27815854565", "27825854565", first_name="Ann")
    deployment = pending_deployment(
        acme, [contact_list.id], marketing=False, linked_campaign=spring.id, send_date="2026-11-26T09:00:00Z"
    )
    assert api.post(f"/deployments/{deployment.id}/approve", acme.approver).status == 200
    for r in Recipient.query(deployment.id):  # as an approval of the release before 62a7593 froze them
        r.update(actions=[Recipient.campaign.remove()])
    from datetime import datetime

    from chalicelib.domain.deployments import launch

    launch.launch_due(datetime.fromisoformat("2026-11-26T09:01:00+00:00"))
    pump.drain()
    first = Recipient.get(deployment.id, "27815854565")
    assert (
        receipts.apply(receipts.Receipt(receipts.FAILED, provider_id=first.provider_id), acme.id) == "applied"
    )
    assert verify(acme.id) == []  # blind: it never reads k<spring>
    campaign, deployment_rows = hour_totals(f"k{spring.id}"), hour_totals(f"d{deployment.id}")
    assert campaign in ({}, deployment_rows), (campaign, deployment_rows)
