"""Statistics: counted once where statuses change, rolled up by the company's clock, equal to the records."""

import collections
import json
from datetime import datetime, timedelta

import pytest

from chalicelib import aws, cli
from chalicelib.domain import clock, receipts, sending, stats
from chalicelib.models.deployments import Recipient
from chalicelib.models.stats import Stat
from chalicelib.providers import Permanent
from tests.factories import create_contact_list, create_contacts, create_optout, pending_deployment

NUMBERS = [f"2782{n:07d}" for n in range(120)]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sending, "BACKOFF_SECONDS", (0, 0, 0, 0))


def approve(api, tenant, numbers, **fields):
    contact_list = create_contact_list(tenant.id)
    create_contacts(tenant.id, contact_list.id, *numbers, first_name="Ann")
    deployment = pending_deployment(tenant, [contact_list.id], **fields)
    answer = api.post(f"/deployments/{deployment.id}/approve", tenant.approver)
    assert answer.status == 200, answer.body
    return deployment.id


def rows(api, member, path):
    return api.get(path, member).body["results"]


def summary(found):
    return [
        (r["period_start"], r["period_end"], r["sms_sent_count"], r["sms_unsent_count"], r["total"])
        for r in found
    ]


def verify(company_id):
    return stats.verify(company_id)


def test_a_send_across_midnight_at_a_month_end_is_split_by_the_companys_clock(
    api, tenants, pump, gateway, at_time
):
    acme, _ = tenants
    at_time("2026-11-30T23:59:00+02:00")
    moved = {}

    def midnight_passes(sms, tries):
        if len(gateway.sent) == 49 and not moved:  # within the second group: the third is claimed after
            moved["at"] = True
            at_time("2026-12-01T00:00:30+02:00")

    gateway.script = midnight_passes
    deployment_id = approve(api, acme, NUMBERS, marketing=False)
    pump.drain()
    assert moved
    stats.roll_up()
    base = f"/deployments/{deployment_id}/stats"
    hourly = summary(rows(api, acme.member, f"{base}/hourly"))
    assert hourly == [
        ("2026-11-30T21:00:00Z", "2026-11-30T22:00:00Z", 50, 0, 50),
        ("2026-11-30T22:00:00Z", "2026-11-30T23:00:00Z", 70, 0, 70),
    ]
    assert summary(rows(api, acme.member, f"{base}/daily")) == [
        ("2026-11-29T22:00:00Z", "2026-11-30T22:00:00Z", 50, 0, 50),
        ("2026-11-30T22:00:00Z", "2026-12-01T22:00:00Z", 70, 0, 70),
    ]
    assert summary(rows(api, acme.member, f"{base}/monthly")) == [
        ("2026-10-31T22:00:00Z", "2026-11-30T22:00:00Z", 50, 0, 50),
        ("2026-11-30T22:00:00Z", "2026-12-31T22:00:00Z", 70, 0, 70),
    ]
    (year,) = rows(api, acme.member, f"{base}/yearly")
    assert (year["period_start"], year["period_end"], year["total"]) == (
        "2025-12-31T22:00:00Z",
        "2026-12-31T22:00:00Z",
        120,
    )
    assert year["deployment"] == deployment_id and year["period_type"] == 4
    assert {r["id"] for r in rows(api, acme.member, f"{base}/hourly")}.isdisjoint({year["id"]})
    company_daily = summary(rows(api, acme.member, "/stats/daily"))
    assert [r[2:] for r in company_daily] == [(50, 0, 50), (70, 0, 70)]
    assert verify(acme.id) == []


def test_a_half_hour_time_zone_keeps_its_own_hours_and_days(api, aws, pump, gateway, at_time):
    from tests.factories import create_tenant

    tenant = create_tenant("Mumbai", send_rate=1000, timezone="Asia/Kolkata", default_region="IN")
    at_time("2026-11-26T23:45:00+05:30")
    deployment_id = approve(api, tenant, ["919812345678"], marketing=False)
    pump.drain()
    stats.roll_up()
    base = f"/deployments/{deployment_id}/stats"
    assert summary(rows(api, tenant.member, f"{base}/hourly"))[0][:2] == (
        "2026-11-26T17:30:00Z",
        "2026-11-26T18:30:00Z",
    )
    assert summary(rows(api, tenant.member, f"{base}/daily"))[0][:2] == (
        "2026-11-25T18:30:00Z",
        "2026-11-26T18:30:00Z",
    )
    assert verify(tenant.id) == []


def test_every_outcome_is_counted_once_and_the_levels_agree_with_the_records(
    api, tenants, pump, gateway, at_time
):
    acme, _ = tenants
    create_optout(acme.id, NUMBERS[0])  # opted out at approval
    create_optout(acme.id, "27815854565")

    def refuse(sms, tries):
        if sms.to in (NUMBERS[1], NUMBERS[2]):
            raise Permanent("InvalidNumber", "no such number")

    gateway.script = refuse
    deployment_id = approve(api, acme, NUMBERS)
    api.post("/messages/send", acme.member, {"message": "Your code", "destination": "0815850000"})
    api.post(
        "/messages/send", acme.member, {"message": "Sale", "destination": "0815854565", "marketing": True}
    )
    pump.drain()
    stats.roll_up()
    records = collections.Counter(stats.column(r.status) for r in Recipient.query(deployment_id))
    assert records == {"sent": 117, "unsent": 2, "optout": 1}
    for period in ("hourly", "daily", "monthly", "yearly"):
        found = rows(api, acme.member, f"/deployments/{deployment_id}/stats/{period}")
        totals = [
            sum(r[k] for r in found) for k in ("sms_sent_count", "sms_unsent_count", "sms_optout_count")
        ]
        assert totals == [117, 2, 1], period
        company = rows(api, acme.member, f"/stats/{period}")
        assert (
            sum(r["sms_sent_count"] for r in company) == 118
            and sum(r["sms_optout_count"] for r in company) == 2
        )
        assert all(r["deployment"] is None for r in company)
    assert verify(acme.id) == []


def test_a_redelivered_chunk_is_counted_once(api, tenants, pump, gateway, at_time, monkeypatch):
    from chalicelib import messages

    acme, _ = tenants
    real = messages.enqueue_many

    def thrice(batch, delay_seconds=0):
        for _ in range(3):
            real(batch, delay_seconds)

    monkeypatch.setattr(messages, "enqueue_many", thrice)
    deployment_id = approve(api, acme, NUMBERS)
    pump.drain()
    (hour,) = rows(api, acme.member, f"/deployments/{deployment_id}/stats/hourly")
    assert hour["sms_sent_count"] == 120 and len(gateway.sent) == 120
    assert verify(acme.id) == []


def test_rolling_up_twice_gives_the_same_rows_and_reads_nothing_new(api, tenants, pump, gateway, at_time):
    acme, _ = tenants
    approve(api, acme, NUMBERS)
    pump.drain()
    first = stats.roll_up()
    snapshot = sorted((r.scope, r.period, r.sent, r.unsent, r.optout) for r in Stat.scan())
    second = stats.roll_up()
    assert first.hours == 2 and second.hours == 0  # the deployment's hour and the company's
    assert sorted((r.scope, r.period, r.sent, r.unsent, r.optout) for r in Stat.scan()) == snapshot


def test_a_receipt_after_its_hour_was_rolled_up_moves_the_count_everywhere(
    api, tenants, pump, gateway, at_time
):
    acme, _ = tenants
    deployment_id = approve(api, acme, NUMBERS)
    pump.drain()
    stats.roll_up()
    at_time("2026-11-27T15:00:00+02:00")  # the next day: the receipt is late, its hour is yesterday's
    late = Recipient.get(deployment_id, NUMBERS[7])
    outcome = receipts.apply(
        receipts.Receipt(receipts.FAILED, provider_id=late.provider_id, error="expired"), acme.id
    )
    assert outcome == "applied"
    stats.roll_up()
    for period in ("hourly", "daily", "monthly", "yearly"):
        (row,) = rows(api, acme.member, f"/deployments/{deployment_id}/stats/{period}")
        assert (row["sms_sent_count"], row["sms_unsent_count"], row["total"]) == (119, 1, 120), period
    assert verify(acme.id) == []


def test_a_receipt_before_the_senders_status_write_is_counted_right(api, tenants, pump, gateway, at_time):
    acme, _ = tenants

    def fails_at_once(sms, tries):
        if sms.to == NUMBERS[3]:
            receipts.apply(receipts.Receipt(receipts.FAILED, reference=sms.reference), acme.id)

    gateway.script = fails_at_once
    deployment_id = approve(api, acme, NUMBERS)
    pump.drain()
    (hour,) = rows(api, acme.member, f"/deployments/{deployment_id}/stats/hourly")
    assert (hour["sms_sent_count"], hour["sms_unsent_count"]) == (119, 1)
    assert verify(acme.id) == []


def test_verify_reports_a_row_that_disagrees(api, tenants, pump, gateway, at_time, capsys):
    acme, _ = tenants
    deployment_id = approve(api, acme, NUMBERS[:5])
    pump.drain()
    stats.roll_up()
    assert cli.main(["--stage", "test", "stats", "verify", "--company", str(acme.id)]) == 0
    hour = next(r for r in Stat.query(f"d{deployment_id}") if r.period_type == 1)
    hour.update(actions=[Stat.sent.add(1)])
    capsys.readouterr()
    assert cli.main(["--stage", "test", "stats", "verify", "--company", str(acme.id)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and any(f"d{deployment_id} 1#" in line for line in report["differences"])


def test_stats_routes_are_scoped_to_the_company_and_check_their_input(api, tenants, pump, gateway, at_time):
    acme, bravo = tenants
    deployment_id = approve(api, acme, NUMBERS[:5])
    pump.drain()
    assert api.get(f"/deployments/{deployment_id}/stats/hourly", bravo.member).status == 404
    assert rows(api, bravo.member, "/stats/hourly") == []
    assert len(rows(api, acme.member, "/stats/hourly")) == 1
    for path, field in (
        (f"/deployments/{deployment_id}/stats/weekly", "period"),
        ("/stats/daily?start=yesterday", "start"),
        ("/stats/daily?start=2026-11-27&end=2026-11-26", "end"),
    ):
        answer = api.get(path, acme.member)
        assert answer.status == 400 and field in answer.body["error"]["fields"], (path, answer.body)
    start = (clock.now() - timedelta(hours=1)).isoformat()
    assert len(rows(api, acme.member, f"/stats/hourly?start={start.replace('+', '%2B')}")) == 1
    assert rows(api, acme.member, "/stats/hourly?end=2026-01-01") == []


def test_a_rollup_costs_the_same_whatever_the_history(api, tenants, at_time):
    """One new hour costs the same rollup requests after 10 or 200 hours of history."""
    from bench.counting import count_aws_calls

    acme, _ = tenants
    costs = []
    for history in (10, 200):
        deployment = 900_000 + history
        start = datetime.fromisoformat("2026-01-01T00:00:00+02:00")
        for hour in range(history):
            tally = stats.Tally()
            tally.add(acme.id, deployment, start + timedelta(hours=hour), "Africa/Johannesburg", "sent")
            aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
        stats.roll_up()
        tally = stats.Tally()
        tally.add(acme.id, deployment, start + timedelta(hours=history + 1), "Africa/Johannesburg", "sent")
        aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
        with count_aws_calls() as counted:
            stats.roll_up()
        costs.append(sum(counted.values()))
    assert costs[0] == costs[1]


def test_a_run_short_of_time_keeps_the_groups_it_finished(api, tenants, monkeypatch):
    """Hours are rolled up a group at a time: a run cut short still marks what it finished, and the
    next run finishes the rest with the same rows as one long run."""
    acme, _ = tenants
    start = datetime.fromisoformat("2026-03-01T00:00:00+02:00")
    tally = stats.Tally()
    for day in range(3):
        tally.add(acme.id, 700_001, start + timedelta(days=day), "Africa/Johannesburg", "sent", 2)
    aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
    monkeypatch.setattr(stats, "GROUP", 2)
    budget = iter([10**9, 0])
    first = stats.roll_up(lambda: next(budget))
    assert (first.hours, first.left) == (2, True)
    second = stats.roll_up()
    assert (second.hours, second.left) == (4, False)
    assert stats.roll_up().hours == 0
    days = Stat.query("d700001", Stat.period.startswith("2#"))
    assert [d.sent for d in days] == [2, 2, 2]
    (month,) = rows(api, acme.member, "/stats/monthly")
    assert month["sms_sent_count"] == 6


def test_the_schedule_never_runs_beside_another_rollup(api, tenants):
    """Two rollups at once could put a month from a day the other has not written yet: the schedule
    (and the operator's check) take turns under one lease."""
    from chalicelib.domain import leases
    from chalicelib.workers import stats as stats_worker

    acme, _ = tenants
    tally = stats.Tally()
    tally.add(
        acme.id, 700_002, datetime.fromisoformat("2026-03-01T10:00:00+02:00"), "Africa/Johannesburg", "sent"
    )
    aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
    with leases.held("stats-rollup", seconds=280) as mine:
        assert mine
        assert stats_worker.handle(None) == {"skipped": 1}
        assert list(Stat.query("d700002", Stat.period.startswith("2#"))) == []
    assert stats_worker.handle(None) == {"hours": 2, "rows": 6, "more": False}
    (day,) = Stat.query("d700002", Stat.period.startswith("2#"))
    assert day.sent == 1
