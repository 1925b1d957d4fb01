"""Counting at the source: the hour rows a status write adds to, in the same transaction as the status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.domain.rules.channels import EMAIL, SMS
from chalicelib.domain.rules.lifecycle import Delivery
from chalicelib.domain.stats.periods import Period, hour_of, iso
from chalicelib.models.stats import (
    DIRTY_SHARDS,
    HOUR,
    Stat,
    campaign_scope,
    company_scope,
    deployment_scope,
    hour_addition,
)

SMS_COLUMNS = ("sent", "unsent", "optout")
COLUMNS = (*SMS_COLUMNS, *(f"{EMAIL}_{c}" for c in SMS_COLUMNS))


_COLUMN_OF = {
    Delivery.SENT: "sent",
    Delivery.DELIVERED: "sent",
    Delivery.FAILED: "unsent",
    Delivery.UNKNOWN: "unsent",
    Delivery.OPTED_OUT: "optout",
}


def column(status: str | None, channel: str | None = SMS) -> str | None:
    """The column a status counts in (`sent`, `unsent`, `optout`; `email_sent` … for email), or None
    (queued, sending)."""
    found = _COLUMN_OF.get(status or "")
    return f"{EMAIL}_{found}" if found and channel == EMAIL else found


def unsent_beside(col: str) -> str:
    """The `unsent` column of the channel `col` belongs to."""
    return f"{EMAIL}_unsent" if col.startswith(f"{EMAIL}_") else "unsent"


class Tally:
    """Counts waiting to ride in a transaction: per (company, deployment or None, campaign or None,
    local hour); each goes to the company's row, the deployment's and the campaign's."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, int | None, int | None, Period, str], Counter] = {}

    def add(
        self,
        company: int,
        deployment: int | None,
        moment: datetime,
        tz: str,
        col: str,
        n: int = 1,
        campaign: int | None = None,
    ) -> None:
        key = (company, deployment, campaign, hour_of(moment, tz), tz)
        self.counts.setdefault(key, Counter())[col] += n

    def move(
        self,
        company: int,
        deployment: int | None,
        moment: datetime,
        tz: str,
        old: str | None,
        new: str | None,
        campaign: int | None = None,
    ) -> None:
        """A message changed columns (old None: it was not counted yet)."""
        if old == new:
            return
        if old is not None:
            self.add(company, deployment, moment, tz, old, -1, campaign)
        if new is not None:
            self.add(company, deployment, moment, tz, new, 1, campaign)

    def merge(self, other: Tally) -> None:
        for key, counts in other.counts.items():
            self.counts.setdefault(key, Counter()).update(counts)

    def updates(self) -> list[dict[str, Any]]:
        """The hour rows' ADDs as TransactWriteItems actions: for the deployment (if any) and the company."""
        return [_hour_update(*row) for row in self._rows()]

    def write_into(self, write: TransactWrite) -> None:
        """The same ADDs, in a PynamoDB transaction."""
        for scope, hour, company, deployment, tz, counts in self._rows():
            actions = [getattr(Stat, c).add(counts[c]) for c in COLUMNS if counts.get(c)]
            actions += [
                Stat.version.add(1),
                Stat.company.set(company),
                Stat.period_type.set(HOUR),
                Stat.period_start.set(iso(hour.start)),
                Stat.period_end.set(iso(hour.end)),
                Stat.tz.set(tz),
                Stat.dirty.set(dirty_shard(company, deployment)),
            ]
            if deployment is not None:
                actions.append(Stat.deployment.set(deployment))
            write.update(Stat(scope=scope, period=hour.key), actions=actions)

    def _rows(self) -> Iterator[tuple[str, Period, int, int | None, str, Counter]]:
        rows: dict[tuple[str, Period], tuple[int, int | None, str, Counter]] = {}
        for (company, deployment, campaign, hour, tz), counts in self.counts.items():
            scopes = [(company_scope(company), None)]
            if deployment is not None:
                scopes.append((deployment_scope(deployment), deployment))
            if campaign is not None:
                scopes.append((campaign_scope(campaign), None))
            for scope, owner in scopes:
                _, _, _, total = rows.setdefault((scope, hour), (company, owner, tz, Counter()))
                total.update(counts)
        for (scope, hour), (company, deployment, tz, counts) in rows.items():
            if any(counts.values()):
                yield scope, hour, company, deployment, tz, counts

    def __bool__(self) -> bool:
        return any(any(c.values()) for c in self.counts.values())


def _hour_update(
    scope: str, hour: Period, company: int, deployment: int | None, tz: str, counts: Counter
) -> dict[str, Any]:
    period = (hour.key, iso(hour.start), iso(hour.end))
    columns = {c: counts[c] for c in COLUMNS if counts.get(c)}
    return hour_addition(scope, period, company, deployment, tz, columns, dirty_shard(company, deployment))


def dirty_shard(company: int, deployment: int | None) -> str:
    return str((deployment if deployment is not None else company) % DIRTY_SHARDS)
