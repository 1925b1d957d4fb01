"""Send statistics by hour, day, month and year, in the company's time zone, returned in UTC.

Counting happens where a status changes: the same transaction that writes a recipient's (or API
message's) status adds it to its hour row, once for its deployment and once for its company, so a
redelivered chunk cannot count twice. A message is counted in the hour its send began (`claimed_at`):
a late receipt or failure moves it between columns of that same hour. The rollup turns the hour rows
written since its last run into day, month and year rows, each recomputed from the rows below it, so
running it again changes nothing and its cost follows what changed, not the length of the history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.domain.background import leases
from chalicelib.domain.stats.periods import Period, enclosing, iso, parse_utc
from chalicelib.domain.stats.tally import COLUMNS
from chalicelib.log import logger
from chalicelib.models import batch
from chalicelib.models.stats import DIRTY_SHARDS, YEAR, Stat, mark_clean, period_key, rows_between

RESERVE_MS = 30_000
MAX_HOURS_A_RUN = 5_000
GROUP = 500  # hours rolled up (and marked) together
THREADS = 16
LEASE_SECONDS = 280  # the schedule runs for at most 300 s


# ---- periods ---------------------------------------------------------------------------------------


# ---- counting at the source --------------------------------------------------------------------------


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
    level = {(hit.scope, hit.period): (period_of(hit.period), hit.company, hit.tz) for hit in hits}
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


def period_of(key: str) -> Period:
    """An hour row's period from its key."""
    type_text, _, start_text = key.partition("#")
    start = parse_utc(start_text)
    return Period(int(type_text), start, start + timedelta(hours=1))


def _recompute(scope: str, period: Period, company: int, tz: str) -> dict[str, Any]:
    """A row as the sum of the rows one level below it within its period, counted in the same zone (a
    company that changed zones keeps its earlier rows in the earlier zone's periods), as an item."""
    below = period.type - 1
    totals: Counter = Counter()
    low, high = period_key(below, iso(period.start)), period_key(below, iso(period.end))
    for row in rows_between(scope, low, high, COLUMNS):
        if row["period_start"] < iso(period.end) and row["tz"] == tz:
            totals.update({c: row[c] for c in COLUMNS if c in row})
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
    mark_clean(scope, period, version)


# ---- reading -----------------------------------------------------------------------------------------


# ---- checking ----------------------------------------------------------------------------------------
