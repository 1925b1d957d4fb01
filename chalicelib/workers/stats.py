"""The schedule that rolls hour rows up into day, month and year rows (never two runs at once)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.stats import rollup


def handle(event: Any) -> dict:
    remaining = getattr(getattr(event, "context", None), "get_remaining_time_in_millis", lambda: 10**9)
    run = rollup.roll_up_alone(remaining)
    if run is None:
        return {"skipped": 1}
    return {"hours": run.hours, "rows": run.rows, "more": run.left}
