"""Statistics: counted once where statuses change, rolled up by the company's clock, equal to the records."""

import collections
import json
from datetime import datetime, timedelta

import pytest

from chalicelib import aws, cli
from chalicelib.domain import clock
from chalicelib.domain.inbound import receipts
from chalicelib.domain.sending import api_messages, sender
from chalicelib.domain.stats import rollup
from chalicelib.domain.stats.tally import Tally, column
from chalicelib.domain.stats.verify import verify
from chalicelib.models.deployments import Message, Recipient
from chalicelib.models.stats import Stat
from chalicelib.providers import Permanent
from tests.factories import (
    approved_deployment,
    create_optout,
)
from tests.faults import conflicts
from tests.sqs_events import chunks_of

NUMBERS = [f"2782{n:07d}" for n in range(24)]  # with `small_chunks`, two chunks: 20 and 4


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sender, "BACKOFF_SECONDS", (0, 0, 0, 0))


def approve(api, tenant, numbers, **fields):
    return approved_deployment(api, tenant, numbers, **fields)


def rows(api, member, path):
    return api.get(path, member).body["results"]


def summary(found):
    return [
        (r["period_start"], r["period_end"], r["sms_sent_count"], r["sms_unsent_count"], r["total"])
        for r in found
    ]


def test_a_send_across_midnight_at_a_month_end_is_split_by_the_companys_clock(
    api, tenants, pump, gateway, at_time, small_chunks
):
    acme, _ = tenants
    at_time("2026-11-30T23:59:00+02:00")
    moved = {}

    def midnight_passes(sms, tries):
        if len(gateway.sent) == 9 and not moved:  # within the second group: the third is claimed after
            moved["at"] = True
            at_time("2026-12-01T00:00:30+02:00")

    gateway.script = midnight_passes
    deployment_id = approve(api, acme, NUMBERS, marketing=False)
    pump.drain()
    assert moved
    rollup.roll_up()
    base = f"/deployments/{deployment_id}/stats"
    hourly = summary(rows(api, acme.member, f"{base}/hourly"))
    assert hourly == [
        ("2026-11-30T21:00:00Z", "2026-11-30T22:00:00Z", 10, 0, 10),
        ("2026-11-30T22:00:00Z", "2026-11-30T23:00:00Z", 14, 0, 14),
    ]
    assert summary(rows(api, acme.member, f"{base}/daily")) == [
        ("2026-11-29T22:00:00Z", "2026-11-30T22:00:00Z", 10, 0, 10),
        ("2026-11-30T22:00:00Z", "2026-12-01T22:00:00Z", 14, 0, 14),
    ]
    assert summary(rows(api, acme.member, f"{base}/monthly")) == [
        ("2026-10-31T22:00:00Z", "2026-11-30T22:00:00Z", 10, 0, 10),
        ("2026-11-30T22:00:00Z", "2026-12-31T22:00:00Z", 14, 0, 14),
    ]
    (year,) = rows(api, acme.member, f"{base}/yearly")
    assert (year["period_start"], year["period_end"], year["total"]) == (
        "2025-12-31T22:00:00Z",
        "2026-12-31T22:00:00Z",
        24,
    )
    assert year["deployment"] == deployment_id and year["period_type"] == 4
    assert {r["id"] for r in rows(api, acme.member, f"{base}/hourly")}.isdisjoint({year["id"]})
    company_daily = summary(rows(api, acme.member, "/stats/daily"))
    assert [r[2:] for r in company_daily] == [(10, 0, 10), (14, 0, 14)]
    assert verify(acme.id) == []


def test_a_half_hour_time_zone_keeps_its_own_hours_and_days(api, aws, pump, gateway, at_time):
    from tests.factories import create_tenant

    tenant = create_tenant("Mumbai", send_rate=1000, timezone="Asia/Kolkata", default_region="IN")
    at_time("2026-11-26T23:45:00+05:30")
    deployment_id = approve(api, tenant, ["919812345678"], marketing=False)
    pump.drain()
    rollup.roll_up()
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
    api, tenants, pump, gateway, at_time, small_chunks
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
    rollup.roll_up()
    records = collections.Counter(column(r.status) for r in Recipient.query(deployment_id))
    assert records == {"sent": 21, "unsent": 2, "optout": 1}
    for period in ("hourly", "daily", "monthly", "yearly"):
        found = rows(api, acme.member, f"/deployments/{deployment_id}/stats/{period}")
        totals = [
            sum(r[k] for r in found) for k in ("sms_sent_count", "sms_unsent_count", "sms_optout_count")
        ]
        assert totals == [21, 2, 1], period
        company = rows(api, acme.member, f"/stats/{period}")
        assert (
            sum(r["sms_sent_count"] for r in company) == 22
            and sum(r["sms_optout_count"] for r in company) == 2
        )
        assert all(r["deployment"] is None for r in company)
    assert verify(acme.id) == []


def test_a_redelivered_chunk_is_counted_once(api, tenants, pump, gateway, at_time, monkeypatch, small_chunks):
    from chalicelib import queue_messages

    acme, _ = tenants
    real = queue_messages.enqueue_many

    def thrice(batch, delay_seconds=0):
        for _ in range(3):
            real(batch, delay_seconds)

    monkeypatch.setattr(queue_messages, "enqueue_many", thrice)
    deployment_id = approve(api, acme, NUMBERS)
    pump.drain()
    (hour,) = rows(api, acme.member, f"/deployments/{deployment_id}/stats/hourly")
    assert hour["sms_sent_count"] == 24 and len(gateway.sent) == 24
    assert verify(acme.id) == []


def test_rolling_up_twice_gives_the_same_rows_and_reads_nothing_new(
    api, tenants, pump, gateway, at_time, small_chunks
):
    acme, _ = tenants
    approve(api, acme, NUMBERS)
    pump.drain()
    first = rollup.roll_up()
    snapshot = sorted((r.scope, r.period, r.sent, r.unsent, r.optout) for r in Stat.scan())
    second = rollup.roll_up()
    assert first.hours == 2 and second.hours == 0  # the deployment's hour and the company's
    assert sorted((r.scope, r.period, r.sent, r.unsent, r.optout) for r in Stat.scan()) == snapshot


def test_a_receipt_after_its_hour_was_rolled_up_moves_the_count_everywhere(
    api, tenants, pump, gateway, at_time, small_chunks
):
    acme, _ = tenants
    deployment_id = approve(api, acme, NUMBERS)
    pump.drain()
    rollup.roll_up()
    at_time("2026-11-27T15:00:00+02:00")  # the next day: the receipt is late, its hour is yesterday's
    late = Recipient.get(deployment_id, NUMBERS[7])
    outcome = receipts.apply(
        receipts.Receipt(receipts.FAILED, provider_id=late.provider_id, error="expired"), acme.id
    )
    assert outcome == "applied"
    rollup.roll_up()
    for period in ("hourly", "daily", "monthly", "yearly"):
        (row,) = rows(api, acme.member, f"/deployments/{deployment_id}/stats/{period}")
        assert (row["sms_sent_count"], row["sms_unsent_count"], row["total"]) == (23, 1, 24), period
    assert verify(acme.id) == []


def test_a_receipt_before_the_senders_status_write_is_counted_right(
    api, tenants, pump, gateway, at_time, small_chunks
):
    acme, _ = tenants

    def fails_at_once(sms, tries):
        if sms.to == NUMBERS[3]:
            receipts.apply(receipts.Receipt(receipts.FAILED, reference=sms.reference), acme.id)

    gateway.script = fails_at_once
    deployment_id = approve(api, acme, NUMBERS)
    pump.drain()
    (hour,) = rows(api, acme.member, f"/deployments/{deployment_id}/stats/hourly")
    assert (hour["sms_sent_count"], hour["sms_unsent_count"]) == (23, 1)
    assert verify(acme.id) == []


def test_verify_reports_a_row_that_disagrees(api, tenants, pump, gateway, at_time, capsys):
    acme, _ = tenants
    deployment_id = approve(api, acme, NUMBERS[:5])
    pump.drain()
    rollup.roll_up()
    assert cli.main(["--stage", "test", "stats", "verify", "--company", str(acme.id)]) == 0
    hour = next(r for r in Stat.query(f"d{deployment_id}") if r.period_type == 1)
    hour.update(actions=[Stat.sent.add(1)])
    capsys.readouterr()
    assert cli.main(["--stage", "test", "stats", "verify", "--company", str(acme.id)]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and any(f"d{deployment_id} 1#" in line for line in report["differences"])


@pytest.mark.parametrize(
    ("counter", "wrong"),
    [("sent_count", 0), ("failed_count", 5), ("blocked_count", 1), ("total_credits", 7), ("credits_used", 4)],
)
def test_verify_reports_a_deployment_whose_counters_disagree_with_its_recipients(
    api, tenants, pump, gateway, at_time, counter, wrong
):
    from chalicelib.models.deployments import Deployment

    acme, _ = tenants
    deployment_id = approve(api, acme, NUMBERS[:5])
    pump.drain()
    assert verify(acme.id) == []
    Deployment(company=acme.id, id=deployment_id).update(actions=[getattr(Deployment, counter).set(wrong)])
    (difference,) = verify(acme.id)
    assert difference.startswith(f"deployment {deployment_id}: {counter} is {wrong} but its recipients")


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
    """One new hour costs the same rollup requests after 10 or 60 hours of history."""
    from bench.counting import count_aws_calls

    acme, _ = tenants
    costs = []
    for history in (10, 60):
        deployment = 900_000 + history
        start = datetime.fromisoformat("2026-01-01T00:00:00+02:00")
        for hour in range(history):
            tally = Tally()
            tally.add(acme.id, deployment, start + timedelta(hours=hour), "Africa/Johannesburg", "sent")
            aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
        rollup.roll_up()
        tally = Tally()
        tally.add(acme.id, deployment, start + timedelta(hours=history + 1), "Africa/Johannesburg", "sent")
        aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
        with count_aws_calls() as counted:
            rollup.roll_up()
        costs.append(sum(counted.values()))
    assert costs[0] == costs[1]


def test_a_run_short_of_time_keeps_the_groups_it_finished(api, tenants, monkeypatch):
    """Hours are rolled up a group at a time: a run cut short still marks what it finished, and the
    next run finishes the rest with the same rows as one long run."""
    acme, _ = tenants
    start = datetime.fromisoformat("2026-03-01T00:00:00+02:00")
    tally = Tally()
    for day in range(3):
        tally.add(acme.id, 700_001, start + timedelta(days=day), "Africa/Johannesburg", "sent", 2)
    aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
    monkeypatch.setattr(rollup, "GROUP", 2)
    budget = iter([10**9, 0])
    first = rollup.roll_up(lambda: next(budget))
    assert (first.hours, first.left) == (2, True)
    second = rollup.roll_up()
    assert (second.hours, second.left) == (4, False)
    assert rollup.roll_up().hours == 0
    days = Stat.query("d700001", Stat.period.startswith("2#"))
    assert [d.sent for d in days] == [2, 2, 2]
    (month,) = rows(api, acme.member, "/stats/monthly")
    assert month["sms_sent_count"] == 6


def test_the_schedule_never_runs_beside_another_rollup(api, tenants):
    """Two rollups at once could put a month from a day the other has not written yet: the schedule
    (and the operator's check) take turns under one lease."""
    from chalicelib.domain.background import leases
    from chalicelib.workers import stats as stats_worker

    acme, _ = tenants
    tally = Tally()
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


# ---- faults: a settlement racing the sender, receipts racing crashes, conflicts ---------------------

A = [f"2782{n:07d}" for n in range(30)]


def hour_totals(scope):
    total = collections.Counter()
    for r in Stat.query(scope, Stat.period.startswith("1#"), consistent_read=True):
        total.update({"sent": r.sent, "unsent": r.unsent, "optout": r.optout})
    return {k: v for k, v in total.items() if v}


def record_totals(deployment_id):
    found = collections.Counter(
        column(r.status) for r in Recipient.query(deployment_id, consistent_read=True)
    )
    return {k: v for k, v in found.items() if k}


@pytest.mark.parametrize("linked", [False, True])
@pytest.mark.parametrize("outcome", [receipts.DELIVERED, receipts.FAILED])
def test_a_receipt_then_a_sender_crash_is_still_counted(
    api, tenants, gateway, at_time, captured, outcome, linked, groups_of_25
):
    """A receipt reaches a recipient still `sending`; the sender dies before writing its status. The
    recovery counts it as the sender would have, once (in its campaign's rows too)."""
    from chalicelib.domain.deployments import launch
    from chalicelib.models.deployments import Deployment
    from tests.factories import create_campaign
    from tests.sqs_events import run_send_worker

    acme, _ = tenants
    campaign = create_campaign(acme.id, "Spring").id if linked else None
    deployment_id, (chunk,) = chunks_of(api, acme, A, captured, linked_campaign=campaign)

    class Crash(BaseException):
        pass

    def receipt_then_die(sms, tries):
        if len(gateway.sent) == 2:
            assert receipts.apply(receipts.Receipt(outcome, reference=sms.reference), acme.id) == "applied"
        if len(gateway.sent) == 5:
            gateway.script = None
            raise Crash

    gateway.script = receipt_then_die
    with pytest.raises(Crash):
        run_send_worker([chunk])
    run_send_worker([chunk], attempt=2)
    at_time("2026-11-26T10:20:00+02:00")
    launch.launch_due()
    at_time("2026-11-27T10:20:00+02:00")
    launch.launch_due()
    assert Deployment.get(acme.id, deployment_id).status == 4
    assert hour_totals(f"d{deployment_id}") == record_totals(deployment_id)
    if linked:
        assert hour_totals(f"k{campaign}") == record_totals(deployment_id)
    assert verify(acme.id) == []


def conflicts_first(monkeypatch, times):
    """The next `times` transactions meet another transaction on their last item."""
    conflicts(monkeypatch, range(1, times + 1))


def test_a_receipt_meeting_conflicts_is_applied_or_refused_never_dropped(
    api, tenants, pump, gateway, monkeypatch, at_time
):
    acme, _ = tenants
    deployment_id = approve(api, acme, A[:3])
    pump.drain()
    first = Recipient.get(deployment_id, A[0])
    assert first.status == "sent"
    conflicts_first(monkeypatch, 6)
    applied = receipts.apply(receipts.Receipt(receipts.FAILED, provider_id=first.provider_id), acme.id)
    assert applied == "applied" and Recipient.get(deployment_id, A[0]).status == "failed"
    conflicts_first(monkeypatch, 100)
    answer = api.post(
        f"/webhooks/status/{acme.company.webhook_token}",
        json_body={"reference": f"d{deployment_id}:{A[1]}", "status": "failed"},
    )
    assert answer.status == 503 and answer.error_code == "busy"
    assert Recipient.get(deployment_id, A[1]).status == "sent"


def test_giving_up_api_messages_survives_a_conflict(api, tenants, captured, monkeypatch):
    from chalicelib import queue_messages
    from chalicelib.models.deployments import Message

    acme, _ = tenants
    assert (
        api.post("/messages/send", acme.member, {"message": "Hi", "destination": "0815850000"}).status == 201
    )
    (batch_of,) = captured.take(queue_messages.SendMessages)
    conflicts_first(monkeypatch, 1)
    api_messages.fail_messages(acme.id, batch_of.ids, "not sent: test")
    (message,) = Message.query(acme.id)
    assert message.status == "failed"
    assert verify(acme.id) == []


def test_start_and_end_dates_are_the_companys_days(api, tenants, pump, gateway, at_time):
    acme, _ = tenants
    at_time("2026-11-27T01:00:00+02:00")  # 26 November in UTC, the 27th in Johannesburg
    deployment_id = approve(api, acme, A[:3], marketing=False)
    pump.drain()
    rollup.roll_up()
    base = f"/deployments/{deployment_id}/stats"
    assert len(rows(api, acme.member, f"{base}/daily?start=2026-11-27&end=2026-11-27")) == 1
    assert len(rows(api, acme.member, f"{base}/hourly?start=2026-11-27&end=2026-11-27")) == 1
    assert rows(api, acme.member, f"{base}/hourly?start=2026-11-26&end=2026-11-26") == []
    assert len(rows(api, acme.member, f"{base}/monthly?start=2026-11-01&end=2026-11-30")) == 1
    assert len(rows(api, acme.member, f"{base}/hourly?start=2026-11-26T23:00:00Z")) == 1


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59-01:00", "1999-12-31", "2026-13-01", "soon"]
)
def test_impossible_start_dates_are_400(api, tenants, value):
    acme, _ = tenants
    answer = api.get(f"/stats/daily?start={value}", acme.member)
    assert answer.status == 400 and "start" in answer.body["error"]["fields"]


@pytest.mark.parametrize("value", ["2000-01-01", "2000-01-01T00:00:00%2B02:00", "2200-12-31"])
def test_the_first_and_last_days_allowed_are_read_in_the_company_zone(api, tenants, value):
    acme, _ = tenants  # Africa/Johannesburg: 2000-01-01 there begins in 1999 in UTC
    answer = api.get(f"/stats/daily?start={value}&end=2200-12-31", acme.member)
    assert answer.status == 200, answer.body


def test_a_cursor_outside_the_asked_periods_is_400(api, tenants):
    acme, _ = tenants
    start = datetime.fromisoformat("2026-01-01T00:00:00+02:00")
    tally = Tally()
    for hour in range(3):
        tally.add(acme.id, None, start + timedelta(hours=hour), "Africa/Johannesburg", "sent")
    aws.client("dynamodb").transact_write_items(TransactItems=tally.updates())
    first = api.get("/stats/hourly?page_size=1", acme.member).body
    assert api.get(f"/stats/hourly?page_size=1&cursor={first['next']}", acme.member).status == 200
    assert api.get(f"/stats/daily?cursor={first['next']}", acme.member).status == 400
    assert api.get(f"/stats/hourly?cursor={first['next']}&start=2026-06-01", acme.member).status == 400


def test_a_time_zone_change_keeps_every_total_and_every_id_distinct(api, tenants, pump, gateway, at_time):
    from chalicelib.models.companies import Company

    acme, _ = tenants
    at_time("2026-11-26T10:00:00+02:00")
    approve(api, acme, A[:1], marketing=False)
    pump.drain()
    rollup.roll_up()
    Company(id=acme.id).update(actions=[Company.timezone.set("America/New_York")])
    at_time("2026-11-26T20:00:00-05:00")  # the 27th in UTC and in Johannesburg, the 26th in New York
    approve(api, acme, A[1:2], marketing=False)
    pump.drain()
    rollup.roll_up()
    for period in ("hourly", "daily", "monthly", "yearly"):
        found = rows(api, acme.member, f"/stats/{period}")
        assert sum(r["total"] for r in found) == 2, period
        assert len({r["id"] for r in found}) == len(found), period
    assert verify(acme.id) == []


def test_londons_25_hour_day_is_one_day_with_distinct_hours(api, aws, pump, gateway, at_time):
    from tests.factories import create_tenant

    london = create_tenant("London", send_rate=1000, timezone="Europe/London", default_region="GB")
    for moment, number in (
        ("2026-10-25T01:30:00+01:00", "447911123401"),  # the first 01:30 (summer time)
        ("2026-10-25T01:30:00+00:00", "447911123402"),  # the second 01:30 (winter time)
        ("2026-10-25T23:30:00+00:00", "447911123403"),
    ):
        at_time(moment)
        approve(api, london, [number], marketing=False)
        pump.drain()
    rollup.roll_up()
    hours = rows(api, london.member, "/stats/hourly")
    assert len({h["id"] for h in hours}) == len(hours) == 3
    days = rows(api, london.member, "/stats/daily")
    assert [(d["period_start"], d["period_end"], d["total"]) for d in days] == [
        ("2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z", 3)
    ]
    assert verify(london.id) == []


def test_every_listed_row_is_addressable_by_its_id_and_only_by_its_owner(api, tenants, pump, gateway):
    from tests.factories import approved_deployment

    acme, bravo = tenants
    deployment_id = approved_deployment(api, acme, ["27820000001", "27820000002"], marketing=False)
    pump.drain()
    rollup.roll_up_alone(lambda: 60_000)
    for period in ("hourly", "daily", "monthly", "yearly"):
        for base in (f"/stats/{period}", f"/deployments/{deployment_id}/stats/{period}"):
            (row,) = api.get(base, acme.member).body["results"]
            assert api.get(f"{base}/{row['id']}", acme.member).body == row
            assert api.get(f"{base}/{row['id']}", bravo.member).status == 404
    company_row = api.get("/stats/daily", acme.member).body["results"][0]
    deployment_row = api.get(f"/deployments/{deployment_id}/stats/daily", acme.member).body["results"][0]
    assert api.get(f"/stats/hourly/{company_row['id']}", acme.member).status == 404  # a day row is no hour
    assert api.get(f"/stats/daily/{deployment_row['id']}", acme.member).status == 404  # not a company row
    assert api.get("/stats/daily/abc", acme.member).status == 404
    assert api.get("/stats/weekly/1", acme.member).status == 400


def test_a_campaign_counts_its_deployments_and_its_api_messages(api, tenants, pump, gateway):
    from tests.factories import approved_deployment, create_campaign

    acme, bravo = tenants
    spring = create_campaign(acme.id, "Spring")
    deployment_id = approved_deployment(api, acme, ["27820000001", "27820000002"], linked_campaign=spring.id)
    approved_deployment(api, acme, ["27820000003"])  # no campaign
    message = {"destination": "0815854565", "message": "Hi", "campaign_pk": spring.id}
    assert api.post("/messages/send", acme.member, message).status == 201
    pump.drain()
    (row,) = api.get(f"/campaigns/{spring.id}/stats/hourly", acme.member).body["results"]
    assert (row["sms_sent_count"], row["total"], row["deployment"]) == (3, 3, None)
    (company_row,) = api.get("/stats/hourly", acme.member).body["results"]
    assert company_row["total"] == 4 and company_row["id"] != row["id"]
    assert api.get(f"/campaigns/{spring.id}/stats/hourly/{row['id']}", acme.member).body == row
    assert api.get(f"/campaigns/{spring.id}/stats/hourly/{company_row['id']}", acme.member).status == 404
    assert api.get(f"/campaigns/{spring.id}/stats/hourly", bravo.member).status == 404
    assert api.get(f"/campaigns/{spring.id}/stats/weekly", acme.member).status == 400
    assert api.get(f"/campaigns/{spring.id}/stats/hourly?start=soon", acme.member).status == 400
    assert Recipient.get(deployment_id, "27820000001").campaign == spring.id
    (sent,) = [m for m in Message.query(acme.id) if m.campaign == spring.id]
    receipt = receipts.Receipt(receipts.FAILED, provider_id=sent.provider_id, error="UNDELIVERED")
    assert receipts.apply(receipt, acme.id) == "applied"
    (moved,) = api.get(f"/campaigns/{spring.id}/stats/hourly", acme.member).body["results"]
    assert (moved["sms_sent_count"], moved["sms_unsent_count"]) == (2, 1)
    assert verify(acme.id) == []
