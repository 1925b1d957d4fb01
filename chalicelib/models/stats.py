"""Send statistics: one row per scope (a deployment, or a company's whole traffic) and period.

Hour rows are added to by the writes that change a message's status, in the same transaction; day,
month and year rows are recomputed from the rows below them by the rollup. A row written since the
rollup last saw it carries `dirty` (a shard name), which puts it in a sparse index the rollup reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection

from chalicelib.models import dynamodb
from chalicelib.models.base import BaseModel, table_meta
from chalicelib.models.expressions import Update, key, plain

HOUR, DAY, MONTH, YEAR = 1, 2, 3, 4
DIRTY_SHARDS = 8


class DirtyIndex(GlobalSecondaryIndex):
    """Hour rows changed since the rollup last rolled them up (sparse: only those carry `dirty`)."""

    class Meta:
        index_name = "dirty-index"
        projection = IncludeProjection(["version", "company", "tz"])

    dirty = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)


class Stat(BaseModel):
    Meta = table_meta("stats")

    scope = UnicodeAttribute(hash_key=True)  # d<deployment>, c<company> or k<campaign>
    period = UnicodeAttribute(range_key=True)  # <period type>#<period start, UTC ISO>
    company = NumberAttribute()
    deployment = NumberAttribute(null=True)
    period_type = NumberAttribute()
    period_start = UnicodeAttribute()
    period_end = UnicodeAttribute()
    tz = UnicodeAttribute()
    sent = NumberAttribute(default=0)
    unsent = NumberAttribute(default=0)
    optout = NumberAttribute(default=0)
    email_sent = NumberAttribute(default=0)
    email_unsent = NumberAttribute(default=0)
    email_optout = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    dirty = UnicodeAttribute(null=True)

    by_dirty = DirtyIndex()


def deployment_scope(deployment: int) -> str:
    return f"d{deployment}"


def company_scope(company: int) -> str:
    return f"c{company}"


def campaign_scope(campaign: int) -> str:
    """A campaign's rows: its deployments' messages and the API messages that name it (`campaign_pk`)."""
    return f"k{campaign}"


def period_key(period_type: int, start: str) -> str:
    return f"{period_type}#{start}"


def hour_addition(
    scope: str,
    hour: tuple[str, str, str],
    company: int,
    deployment: int | None,
    tz: str,
    counts: dict[str, int],
    dirty: str,
) -> dict[str, Any]:
    """Add `counts` to the hour row (`hour` is its period key, start and end), as a raw transaction
    item: the row is made if missing, its version goes up and it is marked `dirty` for the rollup."""
    period, start, end = hour
    update = Update(Stat.Meta.table_name, key(scope=scope, period=period))
    for column, n in counts.items():
        if n:
            update.add(column, n)
    update.add("version", 1)
    update.set("company", company).set("period_type", HOUR).set("period_start", start)
    update.set("period_end", end).set("tz", tz).set("dirty", dirty)
    if deployment is not None:
        update.set("deployment", deployment)
    return update.action()


def rows_between(scope: str, low: str, high: str, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """A scope's rows with period keys from `low` to `high`, read consistently: their start, zone and
    `columns` as plain values."""
    names = {"#scope": "scope", "#period": "period", "#start": "period_start", "#tz": "tz"}
    names.update({f"#c{i}": column for i, column in enumerate(columns)})
    request: dict[str, Any] = {
        "TableName": Stat.Meta.table_name,
        "KeyConditionExpression": "#scope = :scope AND #period BETWEEN :low AND :high",
        "ProjectionExpression": ", ".join(name for name in names if name not in ("#scope", "#period")),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": key(**{":scope": scope, ":low": low, ":high": high}),
        "ConsistentRead": True,
    }
    yield from (plain(row) for row in dynamodb.query_items(**request))


def mark_clean(scope: str, period: str, version: int) -> bool:
    """Clear an hour row's `dirty` unless its version moved on (then it stays for the next run)."""
    try:
        dynamodb.update(
            TableName=Stat.Meta.table_name,
            Key=key(scope=scope, period=period),
            UpdateExpression="REMOVE #dirty",
            ConditionExpression="#version = :version",
            ExpressionAttributeNames={"#dirty": "dirty", "#version": "version"},
            ExpressionAttributeValues={":version": {"N": str(version)}},
        )
    except dynamodb.ConditionFailed:
        return False
    return True
