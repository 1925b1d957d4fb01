"""Send statistics by hour, day, month and year, in the company's time zone, returned in UTC.

Counting happens where a status changes: the same transaction that writes a recipient's (or API
message's) status adds it to its hour row, once for its deployment and once for its company, so a
redelivered chunk cannot count twice. A message is counted in the hour its send began (`claimed_at`):
a late receipt or failure moves it between columns of that same hour. The rollup turns the hour rows
written since its last run into day, month and year rows, each recomputed from the rows below it, so
running it again changes nothing and its cost follows what changed, not the length of the history.
"""

from __future__ import annotations

import time
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.transactions import TransactWrite

from chalicelib import aws
from chalicelib.domain.background import leases
from chalicelib.domain.errors import invalid_field
from chalicelib.log import logger
from chalicelib.models import batch
from chalicelib.models.pagination import Page, PageRequest, paginate
from chalicelib.models.stats import (
    DAY,
    DIRTY_SHARDS,
    HOUR,
    MONTH,
    YEAR,
    Stat,
    company_scope,
    deployment_scope,
    period_key,
)

COLUMNS = ("sent", "unsent", "optout")
PERIOD_NAMES = {"hourly": HOUR, "daily": DAY, "monthly": MONTH, "yearly": YEAR}
_COLUMN_OF = {
    "sent": "sent",
    "delivered": "sent",
    "failed": "unsent",
    "unknown": "unsent",
    "opted_out": "optout",
}
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
RESERVE_MS = 30_000
MAX_HOURS_A_RUN = 5_000
GROUP = 500  # hours rolled up (and marked) together
THREADS = 16
LEASE_SECONDS = 280  # the schedule runs for at most 300 s


def column(status: str | None) -> str | None:
    """The column a status counts in (`sent`, `unsent`, `optout`), or None (queued, sending)."""
    return _COLUMN_OF.get(status or "")


# ---- periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    type: int
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    @property
    def key(self) -> str:
        return period_key(self.type, iso(self.start))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hour_of(moment: datetime, tz: str) -> Period:
    """The company's local hour that `moment` falls in (a local hour is not always a UTC hour)."""
    local = moment.astimezone(zoneinfo.ZoneInfo(tz)).replace(minute=0, second=0, microsecond=0)
    start = local.astimezone(UTC)
    return Period(HOUR, start, start + timedelta(hours=1))


def enclosing(period: Period, tz: str) -> Period:
    """The local day of an hour, the month of a day, the year of a month."""
    zone = zoneinfo.ZoneInfo(tz)
    first = period.start.astimezone(zone).date()
    if period.type == HOUR:
        start, end = first, first + timedelta(days=1)
    elif period.type == DAY:
        start = first.replace(day=1)
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    else:
        start, end = date(first.year, 1, 1), date(first.year + 1, 1, 1)
    return Period(period.type + 1, _midnight(start, zone), _midnight(end, zone))


def _midnight(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def row_id(company: int, deployment: int | None, period: Period, tz: str) -> int:
    """A stable integer id (below 2**53, so JavaScript reads it exactly) from what a row is: its owner,
    its type and its start in quarter hours since 2020 (periods of one type never share a start)."""
    owner = deployment if deployment is not None else company | (1 << 28)
    index = int((period.start - _EPOCH).total_seconds() // 900)
    return ((owner << 2 | (period.type - 1)) << 21) | (index & 0x1FFFFF)


# ---- counting at the source --------------------------------------------------------------------------


class Tally:
    """Counts waiting to ride in a transaction: per (company, deployment or None, local hour)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, int | None, Period, str], Counter] = {}

    def add(
        self, company: int, deployment: int | None, moment: datetime, tz: str, col: str, n: int = 1
    ) -> None:
        key = (company, deployment, hour_of(moment, tz), tz)
        self.counts.setdefault(key, Counter())[col] += n

    def move(
        self,
        company: int,
        deployment: int | None,
        moment: datetime,
        tz: str,
        old: str | None,
        new: str | None,
    ) -> None:
        """A message changed columns (old None: it was not counted yet)."""
        if old == new:
            return
        if old is not None:
            self.add(company, deployment, moment, tz, old, -1)
        if new is not None:
            self.add(company, deployment, moment, tz, new, 1)

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
        for (company, deployment, hour, tz), counts in self.counts.items():
            scopes = [(company_scope(company), None)]
            if deployment is not None:
                scopes.append((deployment_scope(deployment), deployment))
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
    adds = [f"#{c} :{c}" for c in COLUMNS if counts.get(c)]
    values: dict[str, Any] = {f":{c}": {"N": str(counts[c])} for c in COLUMNS if counts.get(c)}
    names = {f"#{c}": c for c in COLUMNS if counts.get(c)}
    sets = {
        "company": {"N": str(company)},
        "period_type": {"N": str(HOUR)},
        "period_start": {"S": iso(hour.start)},
        "period_end": {"S": iso(hour.end)},
        "tz": {"S": tz},
        "dirty": {"S": dirty_shard(company, deployment)},
    }
    if deployment is not None:
        sets["deployment"] = {"N": str(deployment)}
    for name, value in sets.items():
        names[f"#{name}"] = name
        values[f":{name}"] = value
    names["#version"] = "version"
    values[":one"] = {"N": "1"}
    expression = (
        "ADD " + ", ".join([*adds, "#version :one"]) + " SET " + ", ".join(f"#{n} = :{n}" for n in sets)
    )
    return {
        "Update": {
            "TableName": Stat.Meta.table_name,
            "Key": {"scope": {"S": scope}, "period": {"S": hour.key}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def dirty_shard(company: int, deployment: int | None) -> str:
    return str((deployment if deployment is not None else company) % DIRTY_SHARDS)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# ---- the rollup --------------------------------------------------------------------------------------


@dataclass
class RollupRun:
    hours: int = 0
    rows: int = 0
    left: bool = False


def roll_up(time_left_ms: Callable[[], int] = lambda: 10**9) -> RollupRun:
    """Recompute the day rows above every hour row written since the last run, then the month rows
    above those days, then the year rows above those months; then mark the hours rolled up. Hours are
    taken a group at a time, so a run that runs short of time still keeps what it finished."""
    run = RollupRun()
    hits = _dirty_hours()
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="rollup") as pool:
        for start in range(0, len(hits), GROUP):
            if time_left_ms() < RESERVE_MS:
                run.left = True
                break
            group = hits[start : start + GROUP]
            run.rows += _roll_up_group(group, pool)
            run.hours += len(group)
    run.left = run.left or len(hits) == MAX_HOURS_A_RUN
    if hits:
        logger.info("stats rolled up", hours=run.hours, rows=run.rows, more=run.left)
    return run


def roll_up_alone(time_left_ms: Callable[[], int] = lambda: 10**9) -> RollupRun | None:
    """`roll_up` under the rollup's lease (two runs at once could put a stale month); None: one is on."""
    with leases.held("stats-rollup", seconds=LEASE_SECONDS) as mine:
        return roll_up(time_left_ms) if mine else None


def _dirty_hours() -> list[Stat]:
    hits: list[Stat] = []
    for shard in range(DIRTY_SHARDS):
        for hit in Stat.by_dirty.query(str(shard)):
            hits.append(hit)
            if len(hits) == MAX_HOURS_A_RUN:
                return hits
    return hits


def _roll_up_group(hits: list[Stat], pool: ThreadPoolExecutor) -> int:
    """Day, month and year rows above `hits`, level by level (each level reads the one just written)."""
    written = 0
    level = {(hit.scope, hit.period): (_period_of(hit.period), hit.company, hit.tz) for hit in hits}
    while level:
        parents = {}
        for (scope, _), (period, company, tz) in level.items():
            if period.type < YEAR:
                parent = enclosing(period, tz)
                parents[(scope, parent.key)] = (parent, company, tz)
        rows = list(pool.map(lambda item: _recompute(item[0][0], *item[1]), parents.items()))
        batch.write_items(Stat.Meta.table_name, rows)
        written += len(rows)
        level = parents
    list(pool.map(lambda hit: _clean(hit.scope, hit.period, hit.version), hits))
    return written


def _period_of(key: str) -> Period:
    """An hour row's period from its key."""
    type_text, _, start_text = key.partition("#")
    start = parse_utc(start_text)
    return Period(int(type_text), start, start + timedelta(hours=1))


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _recompute(scope: str, period: Period, company: int, tz: str) -> dict[str, Any]:
    """A row as the sum of the rows one level below it within its period, counted in the same zone (a
    company that changed zones keeps its earlier rows in the earlier zone's periods), as an item."""
    below = period.type - 1
    totals: Counter = Counter()
    request: dict[str, Any] = {
        "TableName": Stat.Meta.table_name,
        "KeyConditionExpression": "#scope = :scope AND #period BETWEEN :low AND :high",
        "ProjectionExpression": "#start, #tz, " + ", ".join(f"#{c}" for c in COLUMNS),
        "ExpressionAttributeNames": {
            "#scope": "scope",
            "#period": "period",
            "#start": "period_start",
            "#tz": "tz",
            **{f"#{c}": c for c in COLUMNS},
        },
        "ExpressionAttributeValues": {
            ":scope": {"S": scope},
            ":low": {"S": period_key(below, iso(period.start))},
            ":high": {"S": period_key(below, iso(period.end))},
        },
        "ConsistentRead": True,
    }
    client = aws.client("dynamodb")
    while True:
        answer = client.query(**request)
        for row in answer["Items"]:
            if row["period_start"]["S"] < iso(period.end) and row["tz"]["S"] == tz:
                totals.update({c: int(row[c]["N"]) for c in COLUMNS if c in row})
        if "LastEvaluatedKey" not in answer:
            break
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return Stat(
        scope=scope,
        period=period.key,
        company=company,
        deployment=int(scope[1:]) if scope.startswith("d") else None,
        period_type=period.type,
        period_start=iso(period.start),
        period_end=iso(period.end),
        tz=tz,
        **{c: totals[c] for c in COLUMNS},
    ).serialize()


def _clean(scope: str, period: str, version: int) -> None:
    """The hour is rolled up, unless it changed since it was read (then the next run sees it again)."""
    try:
        aws.client("dynamodb").update_item(
            TableName=Stat.Meta.table_name,
            Key={"scope": {"S": scope}, "period": {"S": period}},
            UpdateExpression="REMOVE #dirty",
            ConditionExpression="#version = :version",
            ExpressionAttributeNames={"#dirty": "dirty", "#version": "version"},
            ExpressionAttributeValues={":version": {"N": str(version)}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


# ---- reading -----------------------------------------------------------------------------------------


def parse_period_name(name: str) -> int:
    if name not in PERIOD_NAMES:
        raise invalid_field("period", f"must be one of {', '.join(PERIOD_NAMES)}")
    return PERIOD_NAMES[name]


def parse_moment(value: str | None, name: str, tz: str, *, end: bool = False) -> str | None:
    """`start`/`end` as an ISO date or datetime, in the company's time zone unless it carries an
    offset, as a row key bound; a date as `end` takes in that whole day."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(tz))
            if end and len(value.strip()) == 10:  # a date: up to the last second of that day
                moment = _midnight(moment.date() + timedelta(days=1), zoneinfo.ZoneInfo(tz))
                moment -= timedelta(seconds=1)
        if not 2000 <= moment.astimezone(UTC).year <= 2200:
            raise ValueError(value)
        return iso(moment)
    except (ValueError, OverflowError):
        raise invalid_field(name, "must be an ISO 8601 date or date and time (years 2000 to 2200)") from None


def list_rows(scope: str, period_type: int, start: str | None, end: str | None, page: PageRequest) -> Page:
    """Rows of one type whose period starts within [start, end], oldest first."""
    if start and end and start > end:
        raise invalid_field("end", "must not be before start")
    low = period_key(period_type, start or "0")
    high = period_key(period_type, end or "9")
    return paginate(
        Stat, scope, page, range_key_condition=Stat.period.between(low, high), range_bounds=(low, high)
    )


# ---- checking ----------------------------------------------------------------------------------------


def expected_hours(
    records: Iterable[tuple[int | None, str | None, datetime | None]], company: int, tz: str
) -> dict:
    """What the hour rows should hold for `records` of (deployment or None, status, counted at)."""
    expected: dict[tuple[str, str], Counter] = {}
    for deployment, status, moment in records:
        col = column(status)
        if col is None or moment is None:
            continue
        hour = hour_of(moment, tz)
        scopes = [company_scope(company)] + ([deployment_scope(deployment)] if deployment is not None else [])
        for scope in scopes:
            expected.setdefault((scope, hour.key), Counter())[col] += 1
    return expected


def differences(expected_hour_rows: dict[tuple[str, str], Counter], tz: str) -> list[str]:
    """Every row (hour, and the day, month and year rows above them) that differs from `expected`.
    An hour rolls up in the zone it was counted in (a company may have changed zones since)."""
    stored: dict[tuple[str, str], Counter] = {}
    zones: dict[tuple[str, str], str] = {}
    for scope in {scope for scope, _ in expected_hour_rows}:
        for row in Stat.query(scope, consistent_read=True):
            stored[(scope, row.period)] = Counter({c: getattr(row, c) or 0 for c in COLUMNS})
            zones[(scope, row.period)] = row.tz
    expected = dict(expected_hour_rows)
    for (scope, key), counts in list(expected_hour_rows.items()):
        period, zone = _period_of(key), zones.get((scope, key), tz)
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
    from chalicelib.models.companies import Company
    from chalicelib.models.deployments import Deployment, Message, Recipient

    _roll_up_pending()
    tz = Company.get(company_id).timezone
    records: list[tuple[int | None, str | None, datetime | None]] = []
    for deployment in Deployment.query(company_id):
        for recipient in Recipient.query(deployment.id, consistent_read=True):
            if recipient.claimed_at is not None:
                moment = from_epoch(recipient.claimed_at)
            else:  # opted out at approval: counted when the deployment first went out
                moment = deployment.date_sent if recipient.status == "opted_out" else None
            records.append((deployment.id, recipient.status, moment))
    for message in Message.query(company_id, consistent_read=True):
        moment = from_epoch(message.claimed_at) if message.claimed_at is not None else None
        records.append((None, message.status, moment))
    return differences(expected_hours(records, company_id, tz), tz)
