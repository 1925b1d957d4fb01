"""Time as Colony stores and shows it: UTC, whole seconds, ISO-8601 with a `Z` (or a company's zone)."""

from __future__ import annotations

import time
import zoneinfo
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def epoch_ms() -> int:
    """The moment in epoch milliseconds, for timelines workers share (a sender's pace)."""
    return time.time_ns() // 1_000_000


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def in_zone(moment: datetime, timezone: str) -> str:
    """`moment` as ISO-8601 in a company's zone, with its offset (`2026-11-26T08:00:00+02:00`)."""
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).replace(microsecond=0).isoformat()


def today_in(timezone: str) -> str:
    """Today's date in a company's zone, as ISO-8601 (`2026-11-26`)."""
    return now().astimezone(zoneinfo.ZoneInfo(timezone)).date().isoformat()


def today() -> str:
    """Today's date in UTC, as ISO-8601."""
    return now().date().isoformat()
