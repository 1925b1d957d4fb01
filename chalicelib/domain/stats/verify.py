"""Checking the stats: every hour, day, month and year row recomputed from the per-recipient and
per-message records, and every final deployment's counters and credits from its recipients."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from chalicelib.domain.deployments import final_counts
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.domain.stats.periods import enclosing, from_epoch, hour_of
from chalicelib.domain.stats.rollup import LEASE_SECONDS, period_of, roll_up_alone
from chalicelib.domain.stats.tally import COLUMNS, column
from chalicelib.models.companies import Company
from chalicelib.models.deployments import Campaign, Deployment, Message, Recipient
from chalicelib.models.stats import (
    YEAR,
    Stat,
    campaign_scope,
    company_scope,
    deployment_scope,
)


def expected_hours(records: Iterable[tuple], company: int, tz: str) -> dict:
    """What the hour rows should hold for `records` of (deployment or None, status, counted at,
    channel, campaign or None)."""
    expected: dict[tuple[str, str], Counter] = {}
    for deployment, status, moment, channel, *rest in records:
        col = column(status, channel)
        if col is None or moment is None:
            continue
        hour = hour_of(moment, tz)
        campaign = rest[0] if rest else None
        scopes = [company_scope(company)] + ([deployment_scope(deployment)] if deployment is not None else [])
        scopes += [campaign_scope(campaign)] if campaign is not None else []
        for scope in scopes:
            expected.setdefault((scope, hour.key), Counter())[col] += 1
    return expected


def differences(
    expected_hour_rows: dict[tuple[str, str], Counter], tz: str, scopes: Iterable[str] = ()
) -> list[str]:
    """Every row (hour, and the day, month and year rows above them) that differs from `expected`.
    An hour rolls up in the zone it was counted in (a company may have changed zones since)."""
    stored: dict[tuple[str, str], Counter] = {}
    zones: dict[tuple[str, str], str] = {}
    for scope in {scope for scope, _ in expected_hour_rows} | set(scopes):
        for row in Stat.query(scope, consistent_read=True):
            stored[(scope, row.period)] = Counter({c: getattr(row, c) or 0 for c in COLUMNS})
            zones[(scope, row.period)] = row.tz
    expected = dict(expected_hour_rows)
    for (scope, key), counts in list(expected_hour_rows.items()):
        period, zone = period_of(key), zones.get((scope, key), tz)
        while period.type < YEAR:
            period = enclosing(period, zone)
            expected.setdefault((scope, period.key), Counter()).update(counts)
    found = []
    for key in sorted(set(expected) | set(stored)):
        want = {c: n for c, n in expected.get(key, Counter()).items() if n}
        have = {c: n for c, n in stored.get(key, Counter()).items() if n}
        if want != have:
            found.append(f"{key[0]} {key[1]}: counted {want} but the rows say {have}")
    return found


def _roll_up_pending(wait_seconds: float = 300) -> None:
    """Roll up every pending hour, waiting for a scheduled run that holds the lease to finish."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        ends = time.monotonic() + LEASE_SECONDS - 30  # finish well inside the lease
        run = roll_up_alone(lambda ends=ends: int((ends - time.monotonic()) * 1000))
        if run is not None and not run.left:
            return
        if run is None:
            time.sleep(1)
    raise TimeoutError("the stats rollup did not finish in time")


def verify(company_id: int) -> list[str]:
    """Recompute every row of a company from its per-recipient and per-message records; the rows that
    differ, described (empty: all agree). Pending hours are rolled up first (as the schedule would),
    so day, month and year rows are compared too. Reads everything: an operator's check."""
    _roll_up_pending()
    tz = Company.get(company_id).timezone
    records: list[tuple] = []
    counters: list[str] = []
    for deployment in Deployment.query(company_id, consistent_read=True):
        recipients = list(Recipient.query(deployment.id, consistent_read=True))
        counters += final_counts.differences(deployment, recipients)
        for recipient in recipients:
            if recipient.claimed_at is not None:
                moment = from_epoch(recipient.claimed_at)
            else:  # opted out at approval: counted when the deployment first went out
                moment = deployment.date_sent if recipient.status == Delivery.OPTED_OUT else None
            records.append((deployment.id, recipient.status, moment, recipient.channel, recipient.campaign))
    for message in Message.query(company_id, consistent_read=True):
        moment = from_epoch(message.claimed_at) if message.claimed_at is not None else None
        records.append((None, message.status, moment, message.channel, message.campaign))
    campaigns = [campaign_scope(c.id) for c in Campaign.query(company_id)]  # rows no record names, too
    return counters + differences(expected_hours(records, company_id, tz), tz, campaigns)
