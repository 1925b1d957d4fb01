"""Send statistics: one row per scope (a deployment, or a company's whole traffic) and period.

Hour rows are added to by the writes that change a message's status, in the same transaction; day,
month and year rows are recomputed from the rows below them by the rollup. A row written since the
rollup last saw it carries `dirty` (a shard name), which puts it in a sparse index the rollup reads.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection

from chalicelib.models.base import BaseModel, table_meta

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

    scope = UnicodeAttribute(hash_key=True)  # d<deployment> or c<company>
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
    version = NumberAttribute(default=0)
    dirty = UnicodeAttribute(null=True)

    by_dirty = DirtyIndex()


def deployment_scope(deployment: int) -> str:
    return f"d{deployment}"


def company_scope(company: int) -> str:
    return f"c{company}"


def period_key(period_type: int, start: str) -> str:
    return f"{period_type}#{start}"
